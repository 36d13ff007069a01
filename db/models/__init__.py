"""SQLAlchemy models: the tables of the schema, shared by PostgreSQL and SQLite.

Alembic migrations under ``db/migrations`` create these tables; a test checks
that the migrated database and this metadata agree on both dialects.
"""

from __future__ import annotations

from db.models.access import (
    ApiKey,
    AuditEvent,
    IdempotencyKey,
    PolicyRule,
    PolicyVersion,
    RoleAssignment,
    SavedQuery,
    User,
)
from db.models.base import NAMING_CONVENTION, AreaLevel, Base, CadreRank, DepartmentKind, PathString
from db.models.counters import AreaCounter, CadreTally, HouseholdTally
from db.models.tree import Area, Cadre, Department, Household
from db.models.work import (
    LedgerItem,
    LedgerItemEvent,
    LedgerItemReason,
    Meeting,
    Suggestion,
    Visit,
    VisitKind,
)

__all__ = [
    "NAMING_CONVENTION",
    "ApiKey",
    "Area",
    "AreaCounter",
    "AreaLevel",
    "AuditEvent",
    "Base",
    "Cadre",
    "CadreRank",
    "CadreTally",
    "Department",
    "DepartmentKind",
    "Household",
    "HouseholdTally",
    "IdempotencyKey",
    "LedgerItem",
    "LedgerItemEvent",
    "LedgerItemReason",
    "Meeting",
    "PathString",
    "PolicyRule",
    "PolicyVersion",
    "RoleAssignment",
    "SavedQuery",
    "Suggestion",
    "User",
    "Visit",
    "VisitKind",
]
