"""audit_event append-only on SQLite too

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 10:00:00

PostgreSQL refuses UPDATE and DELETE on ``audit_event`` by a trigger since 0003;
SQLite had none. Its triggers raise the same message (``RAISE(ABORT, …)`` undoes
the statement), so the audit trail is append-only for every client of either
database. Emptying the table for maintenance (the tests do, between tests) drops
the triggers and re-creates them in the same transaction — the counterpart of
PostgreSQL's TRUNCATE, which row triggers do not see.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = {
    "audit_event_no_update": "UPDATE",
    "audit_event_no_delete": "DELETE",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, event in TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
