"""Typed settings from the environment (prefix `FLOWPILOT_`).

Every process reads the same variables; each uses the ones it needs. The README
and `deploy/README.md` list them all.

Secrets may also come from files: with `FLOWPILOT_SECRETS_DIR` set, a file
named like a secret's variable (`FLOWPILOT_JWT_PUBLIC_KEY`) in that directory
or one of its subdirectories supplies it, so Kubernetes can mount Secrets as
files instead of exposing them in the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from flowpilot.runtime.db import InvalidDatabaseUrl, parse_database_url

ENV_PREFIX = "FLOWPILOT_"
# The settings that may come from FLOWPILOT_SECRETS_DIR (and only these).
SECRET_FIELDS = (
    "jwt_secret",
    "jwt_public_key",
    "jwt_previous_secret",
    "jwt_previous_public_key",
    "service_token",
    "fixes_database_url",
    "fixes_listen_database_url",
    "scriptbuilder_database_url",
    "openai_api_key",
    "page_token_secret",
)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Drafter(StrEnum):
    # Vetted recipes from the catalogue; no model needed.
    RECIPES = "recipes"
    # An OpenAI-compatible chat-completions endpoint, given the best recipes.
    OPENAI = "openai"


# The skeleton-only `offline` drafter was retired when recipes replaced it;
# deployments that still name it get the recipe drafter.
RETIRED_DRAFTERS = {"offline": Drafter.RECIPES}


def read_secrets_dir(directory: Path) -> dict[str, str]:
    """Secret settings from files named `FLOWPILOT_<SETTING>` in `directory`
    or its direct subdirectories (one per mounted Secret). Dot-entries (the
    kubelet's `..data` links) are skipped; an empty file leaves a setting unset."""
    if not directory.is_dir():
        raise ValueError(f"FLOWPILOT_SECRETS_DIR={directory} is not a directory")
    found: dict[str, Path] = {}
    candidates = [p for p in sorted(directory.iterdir()) if not p.name.startswith(".")]
    for entry in list(candidates):
        if entry.is_dir():
            candidates += [p for p in sorted(entry.iterdir()) if not p.name.startswith(".")]
    for path in candidates:
        if path.is_dir() or not path.name.startswith(ENV_PREFIX):
            continue
        name = path.name.removeprefix(ENV_PREFIX).lower()
        if name not in SECRET_FIELDS:
            raise ValueError(
                f"{path}: {path.name} is not a secret setting; secret files may be "
                + ", ".join(ENV_PREFIX + f.upper() for f in SECRET_FIELDS)
            )
        if name in found:
            raise ValueError(f"{path.name} is given twice: {found[name]} and {path}")
        found[name] = path
    values: dict[str, str] = {}
    for name, path in found.items():
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
        if value:
            values[name] = value
    return values


class _SecretsDirSource(PydanticBaseSettingsSource):
    """Settings source for FLOWPILOT_SECRETS_DIR; refuses a secret given twice."""

    def __init__(self, settings_cls: type[BaseSettings], directory: str | None) -> None:
        super().__init__(settings_cls)
        self._directory = Path(directory) if directory else None

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads the directory at once

    def __call__(self) -> dict[str, Any]:
        if self._directory is None:
            return {}
        values = read_secrets_dir(self._directory)
        for name in values:
            if os.environ.get(ENV_PREFIX + name.upper()):
                raise ValueError(
                    f"{ENV_PREFIX}{name.upper()} is set in the environment and as a file "
                    f"in {self._directory}: keep one"
                )
        return values


class Settings(BaseSettings):
    # hide_input_in_errors: a rejected value may be a password or a URL holding one.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", hide_input_in_errors=True
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".data")
    # Secrets as files (see the module docstring).
    secrets_dir: Path | None = None

    # Identity (CONTRACT §2).
    jwt_secret: str | None = Field(default=None, repr=False)
    jwt_public_key: str | None = Field(default=None, repr=False)
    # Still accepted (never used to sign) while a rotation is under way.
    jwt_previous_secret: str | None = Field(default=None, repr=False)
    jwt_previous_public_key: str | None = Field(default=None, repr=False)
    jwt_issuer: str = "flowpilot"
    jwt_audience: str = "flowpilot-api"
    # A pre-minted `service` token for internal calls, for deployments whose
    # processes cannot sign (public-key verification only).
    service_token: str | None = Field(default=None, repr=False)

    # Network.
    bind_host: str = "127.0.0.1"
    http_port: int = 8080
    fixes_grpc_port: int = 50051
    scriptbuilder_grpc_port: int = 50052
    # gRPC targets the clients dial; `dns:///name:port` with a headless
    # Service spreads calls over every replica (round_robin).
    fixes_target: str = "localhost:50051"
    scriptbuilder_target: str = "localhost:50052"
    # Each process's Prometheus endpoint (/metrics), apart from its API port;
    # 0 turns it off.
    fixes_metrics_port: int = Field(default=9051, ge=0, le=65535)
    scriptbuilder_metrics_port: int = Field(default=9052, ge=0, le=65535)
    gateway_metrics_port: int = Field(default=9080, ge=0, le=65535)
    # Servers close connections older than this so that clients re-resolve
    # and pick up new replicas.
    grpc_max_connection_age_seconds: float = 300.0
    shutdown_grace_seconds: float = 10.0
    # Idle HTTP keep-alive of the gateway: longer than the idle timeout of any
    # proxy in front (AWS ALB 60 s, ingress-nginx 60 s, Google Cloud LB 600 s),
    # so the proxy, never the gateway, closes an idle connection (else: 502s).
    http_keep_alive_seconds: int = Field(default=620, ge=1)
    # Slow clients: a request's line and headers, then its body, must arrive
    # within these (408 and closed past them); the head is bounded in size (431).
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    http_body_timeout_seconds: float = Field(default=10.0, gt=0)
    http_max_header_bytes: int = Field(default=65_536, ge=1024)

    # Databases: each service has its own.
    fixes_database_url: str | None = Field(default=None, repr=False)
    # The fixes service's one LISTEN connection (WatchAiSession): the database
    # itself, or a session-pooling port; transaction pooling (PgBouncer's
    # usual mode) drops notifications. Unset: `fixes_database_url`.
    fixes_listen_database_url: str | None = Field(default=None, repr=False)
    scriptbuilder_database_url: str | None = Field(default=None, repr=False)
    # Connections per service process: at most pool + overflow. Five, as in
    # deploy/base: past that many statements at once, more backends only
    # compete for the database's CPUs and widen the tail (README, "Measured");
    # requests wait their turn in the pool instead.
    db_pool_size: int = Field(default=3, ge=1)
    db_max_overflow: int = Field(default=2, ge=0)
    # Analytics reads (a year of runs can take a third of a second) holding a
    # connection at once, per process: the rest of the pool stays free for
    # the calls an engineer waits on (flowpilot.runtime.turns.Slots).
    analytics_concurrency: int = Field(default=2, ge=1)
    # Prepared-statement caches (asyncpg's and SQLAlchemy's); 0 behind
    # PgBouncer transaction pooling: every statement is then unnamed.
    db_statement_cache_size: int = Field(default=100, ge=0)
    # Bounds on every database call of a service, all below the gateway's
    # backend deadline so that a client hears why (503 or 409) instead of a
    # bare 504 (README, "Database faults"):
    # opening a connection,
    db_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    # waiting for a pooled connection when all are in use,
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    # one statement (server side; the client gives up one second later),
    db_statement_timeout_seconds: float = Field(default=5.0, gt=0)
    # waiting for a row or table lock another transaction holds.
    db_lock_timeout_seconds: float = Field(default=2.0, gt=0)
    # How often a service asks its database whether it answers (its
    # grpc.health.v1 status, hence the gateway's /readyz).
    db_health_interval_seconds: float = Field(default=1.0, gt=0)
    # Migrations: DDL gives up after this long waiting for a table lock (it
    # would otherwise queue every query behind it), and a migrator waits at
    # most this long for another one to finish.
    migration_lock_timeout_seconds: float = Field(default=5.0, gt=0)
    migration_lock_wait_seconds: float = Field(default=120.0, gt=0)
    # A service whose database is behind its code waits this long for the
    # migration Job before giving up.
    schema_wait_seconds: float = Field(default=60.0, ge=0)

    # Deadlines and limits.
    fixes_call_timeout_seconds: float = 2.0
    # Fix snapshots each fixes replica keeps to skip the read of a write
    # (checked by the write itself); 0 turns the cache off.
    fixes_snapshot_cache_size: int = Field(default=4096, ge=0, le=1_000_000)
    # The fixes service's calls to the script-builder (templates).
    scriptbuilder_call_timeout_seconds: float = Field(default=2.0, gt=0)
    # Open WatchAiSession streams per user, across every replica.
    watch_max_per_user: int = Field(default=10, ge=1, le=1000)
    backend_timeout_seconds: float = 10.0
    max_body_bytes: int = 1_048_576
    # Server-sent events (gateway): a comment line after this much silence,
    # and at most this many open streams per gateway process (0: no bound).
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    sse_max_streams: int = Field(default=1000, ge=0)

    # Page tokens are signed with this key (HMAC-SHA256), so a client can
    # neither forge nor alter one. Required in production for the services
    # (every replica must share it); in development it is derived from the
    # JWT secret. Changing it invalidates the page tokens in flight.
    page_token_secret: str | None = Field(default=None, repr=False)

    # Script drafting (script-builder service).
    drafter: Drafter = Drafter.RECIPES
    openai_base_url: str | None = None
    openai_api_key: str | None = Field(default=None, repr=False)
    openai_model: str | None = None
    openai_timeout_seconds: float = 30.0
    template_proposal_poll_seconds: float = 2.0

    log_level: str = "INFO"
    log_format: str = "json"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {})
        directory = init_kwargs.get("secrets_dir") or os.environ.get(ENV_PREFIX + "SECRETS_DIR")
        return (
            init_settings,
            env_settings,
            _SecretsDirSource(settings_cls, str(directory) if directory else None),
        )

    @field_validator(
        "fixes_database_url", "fixes_listen_database_url", "scriptbuilder_database_url"
    )
    @classmethod
    def _valid_database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            parse_database_url(value)
        except InvalidDatabaseUrl as exc:
            raise ValueError(f"invalid PostgreSQL URL: {exc}") from None
        return value

    @field_validator("drafter", mode="before")
    @classmethod
    def _retired_drafters(cls, value: object) -> object:
        if isinstance(value, str):
            return RETIRED_DRAFTERS.get(value.strip().lower(), value)
        return value

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> Settings:
        if self.env is Environment.PRODUCTION and not (self.jwt_secret or self.jwt_public_key):
            raise ValueError(
                "FLOWPILOT_JWT_SECRET or FLOWPILOT_JWT_PUBLIC_KEY is required in production"
            )
        return self

    @model_validator(mode="after")
    def _database_bounds_below_the_backend_deadline(self) -> Settings:
        deadline = self.backend_timeout_seconds
        for name in (
            "db_connect_timeout_seconds",
            "db_pool_timeout_seconds",
            "db_statement_timeout_seconds",
            "db_lock_timeout_seconds",
        ):
            if getattr(self, name) >= deadline:
                raise ValueError(
                    f"{ENV_PREFIX}{name.upper()} must be below "
                    f"{ENV_PREFIX}BACKEND_TIMEOUT_SECONDS ({deadline:g}): past it the "
                    "gateway gives up first and the client never hears why"
                )
        return self

    def page_token_key(self) -> bytes:
        """The key page tokens are signed with (`flowpilot.runtime.paging`).

        `FLOWPILOT_PAGE_TOKEN_SECRET` when set; in development, else, one
        derived from the JWT secret (or a secret generated per data dir when
        tokens are verified with a public key). Production requires the
        setting: raises ValueError without it."""
        if self.page_token_secret:
            secret = self.page_token_secret
        elif self.env is Environment.PRODUCTION:
            raise ValueError(
                f"{ENV_PREFIX}PAGE_TOKEN_SECRET is required in production "
                "(the services sign page tokens with it; every replica needs the same one)"
            )
        else:
            secret = self.resolved_jwt_secret() or self._generated_secret("page-token-secret")
        # A key of its own, never the JWT secret itself.
        return hmac.new(secret.encode(), b"flowpilot page tokens v1", hashlib.sha256).digest()

    def _generated_secret(self, name: str) -> str:
        path = self.data_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip()

    def resolved_jwt_secret(self) -> str | None:
        """The HS256 secret; in development one is generated once per data dir."""
        if self.jwt_secret or self.jwt_public_key:
            return self.jwt_secret
        if self.env is Environment.PRODUCTION:
            return None
        return self._generated_secret("jwt-secret")


class MigrationSettings(Settings):
    """What `flowpilot migrate` reads: a migration needs its database URL and
    nothing else, so the migration Job is given no JWT key."""

    @model_validator(mode="after")
    def _production_needs_real_keys(self) -> Settings:
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
