"""Names in the role matrix: roles, objects and actions, as enum members."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    COUNTY_LEADER = "county_leader"
    STABILITY_OFFICER = "stability_officer"
    GUIDANCE_MEMBER = "guidance_member"
    GUIDANCE_STABILITY_MEMBER = "guidance_stability_member"
    DEPARTMENT_CADRE = "department_cadre"
    TOWNSHIP_LEADER = "township_leader"
    TOWNSHIP_CADRE = "township_cadre"
    VILLAGE_SECRETARY = "village_secretary"
    VILLAGE_CADRE = "village_cadre"
    GROUP_HEAD = "group_head"
    REPORTING_TOOL = "reporting_tool"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Act(enum.StrEnum):
    READ = "read"
    WRITE = "write"


class Obj(enum.StrEnum):
    """What a permission is about. Ledgers are ``ledger.<kind>``, see ``ledger_object``."""

    AREA = "area"
    HOUSEHOLD = "household"
    HOUSEHOLD_PII = "household.pii"
    CADRE = "cadre"
    VISIT = "visit"
    MEETING = "meeting"
    AUDIT = "audit"
    ACCESS = "access"
    # Sending a document of one's own (not a saved query); reporting tools may not.
    ADHOC_QUERY = "query.adhoc"
    # The saved-query registry: write is managing it (and running every entry).
    SAVED_QUERY = "saved_query"


LEDGER_PREFIX = "ledger."
# The ledger kinds, in the catalog's order (``db.ledgers.Ledger`` holds the same names).
LEDGER_KINDS = (
    "livelihood",
    "hardship",
    "stability",
    "key_work",
    "needy_employee",
    "petition",
    "project_aid",
    "aid_pairing",
)
# Ledgers owned by a department: a grant's department narrows them to its own.
DEPARTMENT_LEDGER_KINDS = frozenset(
    {"key_work", "needy_employee", "petition", "project_aid", "aid_pairing"}
)


def ledger_object(kind: str) -> str:
    return LEDGER_PREFIX + kind


def is_department_ledger(obj: str) -> bool:
    return obj.startswith(LEDGER_PREFIX) and obj[len(LEDGER_PREFIX) :] in DEPARTMENT_LEDGER_KINDS
