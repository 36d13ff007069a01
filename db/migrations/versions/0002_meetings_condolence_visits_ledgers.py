"""meetings, condolence visits, ledgers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 08:09:16.706894
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("host_cadre_id", sa.Integer(), nullable=False),
        sa.Column("attendee_count", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("attendee_count >= 0", name=op.f("ck_meeting_attendees_non_negative")),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_meeting_area_id_area")),
        sa.ForeignKeyConstraint(
            ["host_cadre_id"], ["cadre.id"], name=op.f("fk_meeting_host_cadre_id_cadre")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_meeting_host_cadre_id"), ["host_cadre_id"], unique=False
        )

    op.create_table(
        "suggestion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_suggestion_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_suggestion_meeting_id_meeting")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion")),
    )
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suggestion_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "ledger_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "ledger",
            sa.Enum(
                "livelihood",
                "hardship",
                "stability",
                "key_work",
                "needy_employee",
                "petition",
                "project_aid",
                "aid_pairing",
                name="ledger",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column(
            "area_path",
            sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("source_visit_id", sa.Integer(), nullable=True),
        sa.Column("source_meeting_id", sa.Integer(), nullable=True),
        sa.Column("source_suggestion_id", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=False),
        sa.Column("responsible_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.Text(), nullable=True),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("deadline_provisional", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "assigned",
                "planned",
                "escalated",
                "resolved",
                "declined",
                name="ledger_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "resolution",
            sa.Enum(
                "on_the_spot",
                "by_plan",
                "policy_does_not_allow",
                name="resolution",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("escalated_to", sa.String(length=200), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column(
            "satisfaction",
            sa.Enum(
                "satisfied",
                "basically_satisfied",
                "dissatisfied",
                name="satisfaction",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status IN ('resolved', 'declined')) = (closed_on IS NOT NULL)",
            name=op.f("ck_ledger_item_closed_on"),
        ),
        sa.CheckConstraint(
            "(CASE WHEN source_visit_id IS NULL THEN 0 ELSE 1 END + CASE WHEN source_meeting_id IS NULL THEN 0 ELSE 1 END + CASE WHEN source_suggestion_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name=op.f("ck_ledger_item_one_source"),
        ),
        sa.CheckConstraint(
            "deadline >= received_on", name=op.f("ck_ledger_item_deadline_after_receipt")
        ),
        sa.ForeignKeyConstraint(["area_id"], ["area.id"], name=op.f("fk_ledger_item_area_id_area")),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_ledger_item_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_ledger_item_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["received_by_id"], ["cadre.id"], name=op.f("fk_ledger_item_received_by_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["responsible_id"], ["cadre.id"], name=op.f("fk_ledger_item_responsible_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["source_meeting_id"],
            ["meeting.id"],
            name=op.f("fk_ledger_item_source_meeting_id_meeting"),
        ),
        sa.ForeignKeyConstraint(
            ["source_suggestion_id"],
            ["suggestion.id"],
            name=op.f("fk_ledger_item_source_suggestion_id_suggestion"),
        ),
        sa.ForeignKeyConstraint(
            ["source_visit_id"], ["visit.id"], name=op.f("fk_ledger_item_source_visit_id_visit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_item")),
    )
    with op.batch_alter_table("ledger_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_item_area_path_status", ["area_path", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_item_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_item_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_item_ledger_status_deadline", ["ledger", "status", "deadline"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_item_responsible_id"), ["responsible_id"], unique=False
        )

    op.create_table(
        "ledger_item_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "receive",
                "import",
                "assign",
                "resolve_on_the_spot",
                "make_plan",
                "complete",
                "escalate",
                "decline",
                "rate",
                name="ledger_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "received",
                "assigned",
                "planned",
                "escalated",
                "resolved",
                "declined",
                name="from_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "received",
                "assigned",
                "planned",
                "escalated",
                "resolved",
                "declined",
                name="to_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["cadre.id"], name=op.f("fk_ledger_item_event_actor_id_cadre")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["ledger_item.id"], name=op.f("fk_ledger_item_event_item_id_ledger_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_item_event")),
    )
    with op.batch_alter_table("ledger_item_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_item_event_item_id"), ["item_id"], unique=False)

    op.create_table(
        "ledger_item_reason",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["ledger_item.id"], name=op.f("fk_ledger_item_reason_item_id_ledger_item")
        ),
        sa.PrimaryKeyConstraint("item_id", "reason", name=op.f("pk_ledger_item_reason")),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), server_default="routine", nullable=False)
        )
        batch_op.add_column(sa.Column("condolence_fen", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("people_visited", sa.Integer(), nullable=True))
        # Alembic does not autogenerate CHECK constraints on an existing table.
        batch_op.create_check_constraint("visit_kind", "kind IN ('routine', 'condolence')")
        batch_op.create_check_constraint(
            "condolence_fields",
            "(kind = 'condolence' AND condolence_fen >= 0 AND people_visited >= 1)"
            " OR (kind = 'routine' AND condolence_fen IS NULL AND people_visited IS NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_visit_condolence_fields"), type_="check")
        batch_op.drop_constraint(op.f("ck_visit_visit_kind"), type_="check")
        batch_op.drop_column("people_visited")
        batch_op.drop_column("condolence_fen")
        batch_op.drop_column("kind")

    op.drop_table("ledger_item_reason")
    with op.batch_alter_table("ledger_item_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_item_event_item_id"))

    op.drop_table("ledger_item_event")
    with op.batch_alter_table("ledger_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_item_responsible_id"))
        batch_op.drop_index("ix_ledger_item_ledger_status_deadline")
        batch_op.drop_index(batch_op.f("ix_ledger_item_household_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_item_department_id"))
        batch_op.drop_index("ix_ledger_item_area_path_status")

    op.drop_table("ledger_item")
    with op.batch_alter_table("suggestion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suggestion_meeting_id"))

    op.drop_table("suggestion")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_host_cadre_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_area_id"))

    op.drop_table("meeting")
