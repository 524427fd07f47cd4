"""Secrets as files: FLOWPILOT_SECRETS_DIR laid out the way Kubernetes mounts
Secrets (one subdirectory per volume, the kubelet's `..data` links beside)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowpilot.runtime.settings import SECRET_FIELDS, Settings

PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----"


@pytest.fixture(autouse=True)
def _no_flowpilot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("FLOWPILOT_"):
            monkeypatch.delenv(name)


def _mount(root: Path, volume: str, files: dict[str, str]) -> None:
    """Like a kubelet projected volume: files behind a `..data` symlink."""
    data = root / volume / "..2026_01_01_00_00_00.000000001"
    data.mkdir(parents=True)
    (root / volume / "..data").symlink_to(data.name)
    for name, value in files.items():
        (data / name).write_text(value)
        (root / volume / name).symlink_to(f"..data/{name}")


def test_secrets_come_from_mounted_files(tmp_path: Path, monkeypatch) -> None:
    _mount(tmp_path, "jwt", {"FLOWPILOT_JWT_PUBLIC_KEY": PUBLIC_KEY + "\n"})
    _mount(
        tmp_path,
        "database",
        {"FLOWPILOT_FIXES_DATABASE_URL": "postgresql://fixes:pw@db.internal/flowpilot_fixes\n"},
    )
    monkeypatch.setenv("FLOWPILOT_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("FLOWPILOT_ENV", "production")
    settings = Settings()
    assert settings.jwt_public_key == PUBLIC_KEY
    assert settings.fixes_database_url == "postgresql://fixes:pw@db.internal/flowpilot_fixes"
    assert settings.jwt_secret is None and settings.scriptbuilder_database_url is None
    # Secrets stay out of repr (and so out of logs).
    assert "db.internal" not in repr(settings) and "MFkw" not in repr(settings)


def test_production_without_a_key_file_still_refuses(tmp_path: Path, monkeypatch) -> None:
    _mount(tmp_path, "database", {"FLOWPILOT_FIXES_DATABASE_URL": "postgresql://u@h/db"})
    monkeypatch.setenv("FLOWPILOT_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("FLOWPILOT_ENV", "production")
    with pytest.raises(ValueError, match="FLOWPILOT_JWT_SECRET or FLOWPILOT_JWT_PUBLIC_KEY"):
        Settings()


def test_a_secret_given_twice_is_refused(tmp_path: Path, monkeypatch) -> None:
    _mount(tmp_path, "jwt", {"FLOWPILOT_JWT_SECRET": "from-a-file"})
    monkeypatch.setenv("FLOWPILOT_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("FLOWPILOT_JWT_SECRET", "from-the-env")
    with pytest.raises(ValueError, match="set in the environment and as a file"):
        Settings()


def test_only_secret_settings_may_be_files(tmp_path: Path, monkeypatch) -> None:
    _mount(tmp_path, "misc", {"FLOWPILOT_HTTP_PORT": "9999"})
    monkeypatch.setenv("FLOWPILOT_SECRETS_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="not a secret setting"):
        Settings()


def test_other_files_and_empty_files_are_ignored(tmp_path: Path, monkeypatch) -> None:
    _mount(tmp_path, "ca", {"ca.crt": "certificate"})
    _mount(tmp_path, "openai", {"FLOWPILOT_OPENAI_API_KEY": ""})
    monkeypatch.setenv("FLOWPILOT_SECRETS_DIR", str(tmp_path))
    assert Settings().openai_api_key is None


def test_a_missing_directory_is_an_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLOWPILOT_SECRETS_DIR", str(tmp_path / "not-mounted"))
    with pytest.raises(ValueError, match="is not a directory"):
        Settings()


def test_every_secret_field_is_hidden_from_repr() -> None:
    for name in SECRET_FIELDS:
        assert Settings.model_fields[name].repr is False, name
