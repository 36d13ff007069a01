"""Settings, read from the environment (and a ``.env`` file) by pydantic-settings."""

from __future__ import annotations

import enum
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.ledgers import Ledger


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
    graphiql: bool | None = Field(
        default=None, description="Serve GraphiQL; default: on in development, off in production"
    )

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.environment is Environment.DEVELOPMENT

    def deadline_days(self) -> dict[Ledger, int]:
        return {
            ledger: self.deadline_working_days_by_ledger.get(ledger, self.deadline_working_days)
            for ledger in Ledger
        }

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
