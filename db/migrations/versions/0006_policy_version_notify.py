"""policy version: NOTIFY on every change (PostgreSQL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00

Every server process keeps the policy version in memory from a LISTEN
connection (``db.policy_version``). The trigger makes *any* change of the row
notify — the application's own bumps, a bare ``UPDATE policy_version SET
version = version + 1`` from psql or the benchmark, the row's INSERT — in the
changing transaction, so the notification is delivered when (and only if) it
commits. SQLite has no notifications: processes read the row per request there.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The channel and payload are db.policy_version's CHANNEL and the new version.
NOTIFY = """
CREATE FUNCTION policy_version_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grassroots_policy', NEW.version::text);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY)
        op.execute(
            "CREATE TRIGGER policy_version_notify AFTER INSERT OR UPDATE ON policy_version "
            "FOR EACH ROW EXECUTE FUNCTION policy_version_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER policy_version_notify ON policy_version")
        op.execute("DROP FUNCTION policy_version_notify()")
