"""The committed stubs are exactly what `flowpilot codegen` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowpilot.runtime.codegen import PROJECT_ROOT, generate, generated_files, proto_files

pytestmark = pytest.mark.integration  # runs protoc


def test_committed_stubs_are_fresh(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh = generated_files(tmp_path)
    committed = generated_files(PROJECT_ROOT)
    assert fresh, "the generator wrote nothing"
    stale = sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )
    assert not stale, f"stale stubs (run `flowpilot codegen`): {stale}"


def test_every_proto_has_stubs() -> None:
    committed = generated_files(PROJECT_ROOT)
    for proto in proto_files():
        stem = proto.relative_to(PROJECT_ROOT / "protos").with_suffix("")
        assert f"{stem}_pb2.py" in committed
        assert f"{stem}_pb2.pyi" in committed


def test_a_changed_proto_is_caught(tmp_path: Path) -> None:
    """The check can fail: a stub generated from an edited proto differs."""
    generate(tmp_path)
    target = tmp_path / "flowpilot" / "api" / "v1" / "types_pb2.py"
    original = target.read_bytes()
    target.write_bytes(original.replace(b"SCRIPT_LANGUAGE_BASH", b"SCRIPT_LANGUAGE_ZSH"))
    assert generated_files(tmp_path) != generated_files(PROJECT_ROOT)
