"""Typed settings from the environment (prefix `FLOWPILOT_`).

Every process reads the same variables; each uses the ones it needs. The README
and `deploy/README.md` list them all.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWPILOT_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".data")

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
    # Servers close connections older than this so that clients re-resolve
    # and pick up new replicas.
    grpc_max_connection_age_seconds: float = 300.0
    shutdown_grace_seconds: float = 10.0

    # Databases: each service has its own.
    fixes_database_url: str | None = None
    scriptbuilder_database_url: str | None = None
    db_pool_size: int = 10

    # Deadlines and limits.
    fixes_call_timeout_seconds: float = 2.0
    backend_timeout_seconds: float = 10.0
    max_body_bytes: int = 1_048_576

    # Script drafting (script-builder service).
    drafter: Drafter = Drafter.RECIPES
    openai_base_url: str | None = None
    openai_api_key: str | None = Field(default=None, repr=False)
    openai_model: str | None = None
    openai_timeout_seconds: float = 30.0
    template_proposal_poll_seconds: float = 2.0

    log_level: str = "INFO"
    log_format: str = "json"

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

    def resolved_jwt_secret(self) -> str | None:
        """The HS256 secret; in development one is generated once per data dir."""
        if self.jwt_secret or self.jwt_public_key:
            return self.jwt_secret
        if self.env is Environment.PRODUCTION:
            return None
        path = self.data_dir / "jwt-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
