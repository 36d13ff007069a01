"""SQLAlchemy models: the tables of the schema, shared by PostgreSQL and SQLite.

Alembic migrations under ``db/migrations`` create these tables; a test checks
that the migrated database and this metadata agree on both dialects.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.ledgers import Action, Ledger, Resolution, Satisfaction, Status

# Stable constraint names, so migrations can refer to them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Materialised paths are compared as byte strings (range scans on a B-tree):
# PostgreSQL needs the "C" collation for that; SQLite's default BINARY already is.
PathString = String(255).with_variant(String(255, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AreaLevel(enum.StrEnum):
    """Levels of the administrative tree (行政区划)."""

    COUNTY = "county"  # 县
    TOWNSHIP = "township"  # 镇 / 乡 / 街道
    VILLAGE = "village"  # 村
    COMMUNITY = "community"  # 社区 (urban; same level as a village)
    GROUP = "group"  # 组 / 社


class DepartmentKind(enum.StrEnum):
    """The report's four kinds of county-level department (县级部门)."""

    LEADING_ORGAN = "leading_organ"  # 领导机关
    LAW_ENFORCEMENT = "law_enforcement"  # 执法监管部门
    SERVICE_WINDOW = "service_window"  # 窗口单位
    SERVICE_INDUSTRY = "service_industry"  # 服务行业


class CadreRank(enum.StrEnum):
    """What kind of cadre someone is; decides where they work, not what they may see."""

    COUNTY_LEADER = "county_leader"  # 县级领导
    AGENCY = "agency"  # 机关事业单位干部
    TOWNSHIP = "township"  # 镇干部
    VILLAGE = "village"  # 村两委
    GROUP_HEAD = "group_head"  # 社长


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as short strings with a CHECK constraint: portable, and a new member
    # is a one-line migration instead of an ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Area(Base):
    """A node of the administrative tree.

    ``path`` is the materialised path of ancestor ids, fixed-width segments with a
    trailing separator (``/00000001/00000004/``); a subtree is the range
    ``[path, path_end(path))`` so one B-tree index serves both databases.
    """

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    level: Mapped[AreaLevel] = mapped_column(_enum(AreaLevel, "area_level"))
    # National statistical division code (统计用区划代码); groups have none.
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(PathString, unique=True)
    depth: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("depth >= 0 AND depth <= 4", name="depth_range"),
        CheckConstraint("code IS NULL OR length(code) IN (6, 9, 12)", name="code_length"),
    )


class Household(Base):
    """A household (户), registered in a group; the unit that is visited."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    # House number inside the group, as the village office writes it.
    number: Mapped[str] = mapped_column(String(20))
    head_name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(18))
    members: Mapped[int] = mapped_column(Integer, default=1)
    address: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_household_group_number"),
        CheckConstraint("members >= 1", name="members_positive"),
    )


class Department(Base):
    """A county-level department or one of its subordinate units; beside the tree."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # The county whose department it is: keeps data county-local.
    county_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    kind: Mapped[DepartmentKind] = mapped_column(_enum(DepartmentKind, "department_kind"))
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("county_id", "name", name="uq_department_county_name"),)


class Cadre(Base):
    """A cadre (干部) who visits households: home area and/or department."""

    __tablename__ = "cadre"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    rank: Mapped[CadreRank] = mapped_column(_enum(CadreRank, "cadre_rank"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # Distinct households this cadre has visited (kept with cadre_tally).
    households_visited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


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
        _enum(VisitKind, "visit_kind"), default=VisitKind.ROUTINE, server_default="routine"
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
    ledger: Mapped[Ledger] = mapped_column(_enum(Ledger, "ledger"))
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
    status: Mapped[Status] = mapped_column(_enum(Status, "ledger_status"))
    resolution: Mapped[Resolution | None] = mapped_column(_enum(Resolution, "resolution"))
    escalated_to: Mapped[str | None] = mapped_column(String(200))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    satisfaction: Mapped[Satisfaction | None] = mapped_column(_enum(Satisfaction, "satisfaction"))
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
    action: Mapped[Action] = mapped_column(_enum(Action, "ledger_action"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    from_status: Mapped[Status | None] = mapped_column(_enum(Status, "from_status"))
    to_status: Mapped[Status] = mapped_column(_enum(Status, "to_status"))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IdempotencyKey(Base):
    """A client's idempotency key and the result of the write it first named.

    Inserted in the same transaction as the write: a replay finds the row and
    returns the first result; two concurrent first sends race on the primary key
    and exactly one write commits.
    """

    __tablename__ = "idempotency_key"

    # Keys are the client's, so per user: two users may pick the same key.
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    # A digest of the request's input: the same key with other input is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    result_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


Index("ix_household_group_id_id", Household.group_id, Household.id)
Index("ix_cadre_area_id_id", Cadre.area_id, Cadre.id)


class User(Base):
    """Someone who signs in (a person, or a reporting tool's account)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    # The cadre this person is, when they are one: their own record is always theirs.
    cadre_id: Mapped[int | None] = mapped_column(ForeignKey("cadre.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ApiKey(Base):
    """A revocable key for a reporting tool; only its SHA-256 is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The key's public part, to find the row; the secret part is only hashed.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RoleAssignment(Base):
    """A role granted to a user at an area: it holds for the area's whole subtree.

    ``department_id`` narrows a department cadre's department ledgers to theirs.
    """

    __tablename__ = "role_assignment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[str] = mapped_column(String(64))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("user_id", "role", "area_id", name="uq_role_assignment_grant"),
        Index("ix_role_assignment_user_id", "user_id"),
    )


class PolicyRule(Base):
    """One line of the role matrix: role may (allow) or may not (deny) act on an object."""

    __tablename__ = "policy_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    obj: Mapped[str] = mapped_column(String(64))
    act: Mapped[str] = mapped_column(String(32))
    eft: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        UniqueConstraint("role", "obj", "act", name="uq_policy_rule_line"),
        CheckConstraint("eft IN ('allow', 'deny')", name="effect"),
    )


class PolicyVersion(Base):
    """A single row, bumped in the same transaction as any policy or assignment change."""

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AuditEvent(Base):
    """Every write, and every read that returned restricted-ledger data. Append-only."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(Text, default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    request_id: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_audit_event_at", "at"),)


class AreaCounter(Base):
    """A count kept for an area's whole subtree, updated in the transaction of each write.

    ``metric`` names what is counted; ``key`` splits it (items: ``ledger|category|
    status|department``; needy households: the reason); ``value`` is the count.
    """

    __tablename__ = "area_counter"

    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True, default="")
    value: Mapped[int] = mapped_column(Integer, default=0)


class HouseholdTally(Base):
    """Per-household counts that decide distinct counters (first visit, first reason)."""

    __tablename__ = "household_tally"

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    # "visits", or "reason:<reason>" for hardship items naming that reason
    kind: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class CadreTally(Base):
    """How many times a cadre visited a household: decides 'households visited' per cadre."""

    __tablename__ = "cadre_tally"

    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)


class SavedQuery(Base):
    """One version of a saved query (a persisted document) of the registry.

    A save that changes the document adds a version; every version keeps running
    by its hash (clients pinned to an old build keep working) until the name is
    retired. Who may run it is the latest version's ``roles``.
    """

    __tablename__ = "saved_query"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)
    # SHA-256 of the document's UTF-8 bytes, hex: the persisted-document id.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Role names, comma-separated.
    roles: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("name", "version", name="uq_saved_query_version"),)
