"""Settings, read from the environment (and a ``.env`` file) by pydantic-settings."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.auth import AuthConfig
from db.ledgers import Ledger

# Only for development: production refuses to start without a real key.
DEVELOPMENT_SECRET = "grassroots-development-secret-not-for-production"  # noqa: S105


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the service; each has an environment variable of the same name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite+aiosqlite:///./grassroots.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://…",
    )
    environment: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = Field(
        default="Asia/Shanghai",
        description="Where 'today' is: a visit dated after today there is in the future.",
    )
    max_page_size: int = Field(default=100, ge=1, le=1000)
    default_page_size: int = Field(default=20, ge=1, le=1000)
    db_pool_size: int = Field(default=10, ge=1)
    deadline_working_days: int = Field(
        default=10, ge=1, le=250, description="Time limit of ledger items, in working days"
    )
    deadline_working_days_by_ledger: dict[Ledger, int] = Field(
        default_factory=dict,
        description='Per-ledger time limits, JSON: {"petition": 5}',
    )
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr | None = Field(
        default=None, description="HS256 signing secret (required in production for HS256)"
    )
    jwt_public_key: str | None = Field(
        default=None, description="RS256: the public key, PEM text or a path to a PEM file"
    )
    jwt_private_key: str | None = Field(
        default=None, description="RS256: a private key (PEM or path), only to mint tokens locally"
    )
    jwt_issuer: str = "grassroots"
    jwt_audience: str = "grassroots"
    introspection: bool | None = Field(
        default=None, description="Schema introspection; default: on in development only"
    )
    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL; default: on in development, off in production"
    )

    apq_auto_register: bool | None = Field(
        default=None,
        description="Register automatic persisted queries on first sight; default: on in "
        "development, off in production (then only saved queries run by hash)",
    )
    apq_cache_size: int = Field(
        default=1000, ge=1, description="Documents kept by automatic registration (LRU)"
    )
    saved_queries_only: bool = Field(
        default=False,
        description="Everyone but administrators may run saved queries only",
    )
    fast_path: bool = Field(
        default=True,
        description="Answer rollup documents by the compiled path (off: ordinary execution "
        "only; the two are tested equal)",
    )
    rollup_cache_mib: int = Field(
        default=32,
        ge=0,
        description="Compiled rollup answers kept per process, in MiB of response (0: none;"
        " a kept answer is checked against its area's versions on every request)",
    )
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024, description="Largest request body accepted, in bytes"
    )
    max_query_depth: int = Field(default=15, ge=2, description="Deepest selection nesting")
    max_aliases: int = Field(default=30, ge=0, description="Aliases in one document")
    max_tokens: int = Field(default=5_000, ge=100, description="Tokens in one document")
    max_query_cost: int = Field(
        default=200_000,
        ge=100,
        description="Largest cost of an operation: fields × the list sizes above them",
    )
    assumed_list_size: int = Field(
        default=50, ge=1, description="Items the cost counts for a list without `first`"
    )
    db_statement_timeout_ms: int = Field(
        default=15_000,
        ge=0,
        description="PostgreSQL statement_timeout for the server's statements (0: none)",
    )
    log_level: str = Field(default="INFO", description="Level of the JSON-lines log")
    report_page_size: int = Field(
        default=1000,
        ge=1,
        le=10_000,
        description="Page size used when a report pages through a connection",
    )

    @model_validator(mode="after")
    def _keys_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            if self.jwt_algorithm == "HS256" and self.jwt_secret is None:
                raise ValueError("production needs JWT_SECRET (or JWT_ALGORITHM=RS256)")
            if self.jwt_algorithm == "RS256" and self.jwt_public_key is None:
                raise ValueError("production with RS256 needs JWT_PUBLIC_KEY")
        return self

    def auth_config(self) -> AuthConfig:
        if self.jwt_algorithm == "RS256":
            if self.jwt_public_key is None:
                raise ValueError("JWT_ALGORITHM=RS256 needs JWT_PUBLIC_KEY")
            verify = _pem(self.jwt_public_key)
            signing = _pem(self.jwt_private_key) if self.jwt_private_key else None
        else:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else DEVELOPMENT_SECRET
            verify = signing = secret
        return AuthConfig(
            algorithm=self.jwt_algorithm,
            verify_key=verify,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            signing_key=signing,
        )

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment is Environment.DEVELOPMENT

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.environment is Environment.DEVELOPMENT

    @property
    def apq_auto_register_enabled(self) -> bool:
        if self.apq_auto_register is not None:
            return self.apq_auto_register
        return self.environment is Environment.DEVELOPMENT

    def deadline_days(self) -> dict[Ledger, int]:
        return {
            ledger: self.deadline_working_days_by_ledger.get(ledger, self.deadline_working_days)
            for ledger in Ledger
        }

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _pem(value: str) -> str:
    """PEM text as given, or read from the file it names."""
    if value.lstrip().startswith("-----BEGIN"):
        return value
    return Path(value).read_text(encoding="utf-8")
