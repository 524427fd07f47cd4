"""Standard libpq database URLs: checked at start-up, and `sslmode` /
`sslrootcert` working against a real TLS-only PostgreSQL whose certificate is
signed by a CA the test creates."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from sqlalchemy import text

from flowpilot.runtime.db import InvalidDatabaseUrl, create_engine, parse_database_url
from flowpilot.runtime.embedded_pg import EmbeddedPostgres
from flowpilot.runtime.settings import Settings
from tests.conftest import postgres_dir

PASSWORD = "s3cret-Pa55word"

# --- parsing (no database) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://u:p@h/db", "scheme 'mysql' is not PostgreSQL"),
        ("postgresql://u:p@/db", "no host"),
        ("postgresql://u:p@h:5432/", "no database name"),
        ("postgresql://u:p@h/db?sslmode=required", "sslmode='required' is not one of"),
        ("postgresql://u:p@h/db?ssl_mode=require", "unknown parameter 'ssl_mode'"),
        ("postgresql://u:p@h/db?sslmode=verify-full&sslrootcert=/nope.pem", "does not exist"),
        ("postgresql://u:p@h/db?connect_timeout=soon", "connect_timeout='soon' is not a number"),
        ("postgresql://u:p@h:port/db", "not a URL"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(InvalidDatabaseUrl) as caught:
        parse_database_url(url.replace(":p@", f":{PASSWORD}@"))
    assert reason in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_sslrootcert_without_verification_is_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    with pytest.raises(InvalidDatabaseUrl, match="does not verify the server"):
        parse_database_url(f"postgresql://u@h/db?sslmode=prefer&sslrootcert={ca}")


def test_good_urls_keep_their_libpq_parameters() -> None:
    url = parse_database_url(
        "postgres://u:p@db.internal:6432/app?sslmode=require&application_name=x&connect_timeout=7"
    )
    assert (url.host, url.port, url.database, url.sslmode) == (
        "db.internal",
        6432,
        "app",
        "require",
    )
    assert url.connect_timeout == 7.0
    assert url.dsn.startswith("postgresql://u:p@db.internal:6432/app?")
    assert "sslmode=require" in url.dsn and "connect_timeout" not in url.dsn
    assert url.display == "db.internal:6432/app"
    # asyncpg's own `ssl=` spelling (older docs) still works.
    assert parse_database_url("postgresql://u@h/db?ssl=require").sslmode == "require"


def test_settings_refuse_a_bad_url_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FLOWPILOT_FIXES_DATABASE_URL", f"postgresql://u:{PASSWORD}@h/db?sslmode=sometimes"
    )
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "FIXES_DATABASE_URL" in str(caught.value).upper()
    assert "sslmode='sometimes'" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.integration  # the CLI in a subprocess
def test_cli_reports_a_bad_url_at_start_up(tmp_path: Path) -> None:
    env = _clean_env(
        FLOWPILOT_FIXES_DATABASE_URL=f"postgresql://u:{PASSWORD}@h/db?sslmode=sometimes",
        FLOWPILOT_DATA_DIR=str(tmp_path),
    )
    result = _flowpilot(["serve", "fixes"], env)
    assert result.returncode == 2, result.stderr
    assert "invalid configuration" in result.stderr and "sslmode" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


# --- a TLS-only PostgreSQL ---------------------------------------------------------


@dataclass
class TlsPostgres:
    cluster: EmbeddedPostgres
    ca: Path  # the CA that signed the server certificate
    other_ca: Path  # a CA that did not

    def url(self, database: str, query: str) -> str:
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.cluster.port}/{database}?{query}"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("flowpilot-test-db"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes, owner: int | None) -> None:
    path.write_bytes(data)
    path.chmod(0o600)
    if owner is not None:
        os.chown(path, owner, owner)


@pytest.fixture(scope="module")
def tls_pg() -> Iterator[TlsPostgres]:
    """A cluster that accepts TCP connections over TLS only (hostnossl: reject)."""
    with postgres_dir() as data_dir:
        cluster = EmbeddedPostgres(data_dir, fsync=False)
        cluster.initdb()
        conf = cluster.cluster_dir
        owner = conf.stat().st_uid if os.geteuid() == 0 else None
        ca_key, ca_cert = _ca("FlowPilot test CA")
        _, other_cert = _ca("Some other CA")
        key, cert = _server_cert(ca_key, ca_cert)
        _write_private(conf / "server.crt", _pem(cert), owner)
        _write_private(
            conf / "server.key",
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            owner,
        )
        with (conf / "postgresql.conf").open("a") as postgresql_conf:
            postgresql_conf.write("\nssl = on\nssl_cert_file = 'server.crt'\n")
            postgresql_conf.write("ssl_key_file = 'server.key'\n")
        (conf / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 trust\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
        )
        certs = data_dir / "client"
        certs.mkdir()
        (certs / "ca.pem").write_bytes(_pem(ca_cert))
        (certs / "other-ca.pem").write_bytes(_pem(other_cert))
        cluster.start()
        try:
            cluster.create_database("tls_app")
            yield TlsPostgres(cluster, certs / "ca.pem", certs / "other-ca.pem")
        finally:
            cluster.stop("immediate")


async def _uses_tls(url: str) -> bool:
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
            return bool(result.scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.integration  # a TLS-only PostgreSQL
async def test_sslmode_require_connects_over_tls(tls_pg: TlsPostgres) -> None:
    assert await _uses_tls(tls_pg.url("tls_app", "sslmode=require"))


@pytest.mark.integration  # a TLS-only PostgreSQL
async def test_verify_full_with_the_servers_ca(tls_pg: TlsPostgres) -> None:
    query = f"sslmode=verify-full&sslrootcert={tls_pg.ca}"
    assert await _uses_tls(tls_pg.url("tls_app", query))


@pytest.mark.integration  # a TLS-only PostgreSQL
async def test_plaintext_is_what_the_server_refuses(tls_pg: TlsPostgres) -> None:
    """The server really is TLS-only, so the passing cases above used TLS."""
    with pytest.raises(Exception, match=r"no encryption|pg_hba\.conf"):
        await _uses_tls(tls_pg.url("tls_app", "sslmode=disable"))


@pytest.mark.integration  # a TLS-only PostgreSQL
def test_migrations_run_with_verify_full(tls_pg: TlsPostgres, tmp_path: Path) -> None:
    tls_pg.cluster.create_database("tls_migrate")
    url = tls_pg.url("tls_migrate", f"sslmode=verify-full&sslrootcert={tls_pg.ca}")
    env = _clean_env(FLOWPILOT_FIXES_DATABASE_URL=url, FLOWPILOT_DATA_DIR=str(tmp_path))
    result = _flowpilot(["migrate", "fixes"], env)
    assert result.returncode == 0, result.stderr
    assert "migrated fixes" in result.stdout
    assert tls_pg.cluster.psql("SELECT version_num FROM alembic_version", "tls_migrate")


@pytest.mark.integration  # a TLS-only PostgreSQL
def test_a_wrong_ca_fails_clearly(tls_pg: TlsPostgres, tmp_path: Path) -> None:
    url = tls_pg.url("tls_app", f"sslmode=verify-full&sslrootcert={tls_pg.other_ca}")
    env = _clean_env(FLOWPILOT_FIXES_DATABASE_URL=url, FLOWPILOT_DATA_DIR=str(tmp_path))
    result = _flowpilot(["migrate", "fixes"], env)
    assert result.returncode == 1, result.stdout
    assert f"cannot use the database 127.0.0.1:{tls_pg.cluster.port}/tls_app" in result.stderr
    assert "certificate verify failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    # Serving refuses at once too (a TLS error is not worth waiting for).
    served = _flowpilot(["serve", "fixes"], env)
    assert served.returncode == 3 and "certificate verify failed" in served.stderr


# --- helpers -----------------------------------------------------------------------


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWPILOT_", "PG"))}
    env.update(values)
    return env


def _flowpilot(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowpilot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
