"""rollup counters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:46:02.575325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "area_counter",
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_area_counter_area_id_area")
        ),
        sa.PrimaryKeyConstraint("area_id", "metric", "key", name=op.f("pk_area_counter")),
    )
    op.create_table(
        "household_tally",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_tally_household_id_household"),
        ),
        sa.PrimaryKeyConstraint("household_id", "kind", name=op.f("pk_household_tally")),
    )
    op.create_table(
        "cadre_tally",
        sa.Column("cadre_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cadre_id"], ["cadre.id"], name=op.f("fk_cadre_tally_cadre_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_cadre_tally_household_id_household")
        ),
        sa.PrimaryKeyConstraint("cadre_id", "household_id", name=op.f("pk_cadre_tally")),
    )
    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("households_visited", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("cadre", schema=None) as batch_op:
        batch_op.drop_column("households_visited")

    op.drop_table("cadre_tally")
    op.drop_table("household_tally")
    op.drop_table("area_counter")
