"""Who may do what, and what was done: users, API keys, role grants, the role matrix and
its version, the audit trail, idempotency keys, saved queries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


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
