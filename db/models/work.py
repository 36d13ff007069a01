"""The work recorded: visits, courtyard meetings and their suggestions, ledger items with
their reasons and history."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.ledgers import Action, Ledger, Resolution, Satisfaction, Status
from db.models.base import Base, PathString, enum_column


class VisitKind(enum.StrEnum):
    ROUTINE = "routine"  # 走访
    CONDOLENCE = "condolence"  # 慰问 (e.g. 春节慰问), with money and people


class Visit(Base):
    """A cadre's visit to a household on a date (走访)."""

    __tablename__ = "visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    visited_on: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[VisitKind] = mapped_column(
        enum_column(VisitKind, "visit_kind"), default=VisitKind.ROUTINE, server_default="routine"
    )
    # Money given, in fen (分, 1/100 yuan): exact integers on both databases.
    condolence_fen: Mapped[int | None] = mapped_column(Integer)
    # People in the household who were visited (慰问人数); condolence visits only.
    people_visited: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(
            "(kind = 'condolence' AND condolence_fen >= 0 AND people_visited >= 1)"
            " OR (kind = 'routine' AND condolence_fen IS NULL AND people_visited IS NULL)",
            name="condolence_fields",
        ),
    )


class Meeting(Base):
    """A courtyard meeting (院坝会) held in a village, community or group."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    host_cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), index=True)
    attendee_count: Mapped[int] = mapped_column(Integer)
    topic: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (CheckConstraint("attendee_count >= 0", name="attendees_non_negative"),)


class Suggestion(Base):
    """A suggestion collected at a courtyard meeting (意见建议)."""

    __tablename__ = "suggestion"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class LedgerItem(Base):
    """One item of any ledger, with its handling state (see ``db.ledgers``).

    ``area_path`` copies the owning area's path so that subtree filters are one
    range on this table; it moves with the item when the item is escalated.
    """

    __tablename__ = "ledger_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ledger: Mapped[Ledger] = mapped_column(enum_column(Ledger, "ledger"))
    category: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    area_path: Mapped[str] = mapped_column(PathString)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    source_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    source_meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    source_suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestion.id"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    # The first-contact owner (首问责任人): whoever received it.
    received_by_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"), index=True)
    method: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[dt.date] = mapped_column(Date)
    # True when the deadline crossed a year the official calendar does not yet cover.
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[Status] = mapped_column(enum_column(Status, "ledger_status"))
    resolution: Mapped[Resolution | None] = mapped_column(enum_column(Resolution, "resolution"))
    escalated_to: Mapped[str | None] = mapped_column(String(200))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(
        enum_column(Satisfaction, "satisfaction")
    )
    # Bumped by every transition; transitions update WHERE version = the one read.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN source_visit_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN source_meeting_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN source_suggestion_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_source",
        ),
        CheckConstraint("deadline >= received_on", name="deadline_after_receipt"),
        CheckConstraint(
            "(status IN ('resolved', 'declined')) = (closed_on IS NOT NULL)", name="closed_on"
        ),
        Index("ix_ledger_item_area_path_status", "area_path", "status"),
        Index("ix_ledger_item_ledger_status_deadline", "ledger", "status", "deadline"),
    )


class LedgerItemReason(Base):
    """The reasons of a needy household (a household may have several)."""

    __tablename__ = "ledger_item_reason"

    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_item.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)


class LedgerItemEvent(Base):
    """One line of an item's history: who did what, when, from which status to which."""

    __tablename__ = "ledger_item_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ledger_item.id"), index=True)
    action: Mapped[Action] = mapped_column(enum_column(Action, "ledger_action"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    from_status: Mapped[Status | None] = mapped_column(enum_column(Status, "from_status"))
    to_status: Mapped[Status] = mapped_column(enum_column(Status, "to_status"))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
