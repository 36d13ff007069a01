"""The ledgers (台账): their kinds, categories, handling statuses — the catalog as data.

Ledger kinds and categories travel as strings in the API (not GraphQL enums), so
that a restricted ledger's name and categories can be absent from everything a
caller without the right sees, including the schema's enum values.
"""

from __future__ import annotations

import dataclasses
import enum


class Ledger(enum.StrEnum):
    """Ledger kinds: the village ledgers, then the department ledgers."""

    LIVELIHOOD = "livelihood"  # 民生诉求台账
    HARDSHIP = "hardship"  # 困难群众台账
    STABILITY = "stability"  # 涉稳信息台账 (restricted)
    KEY_WORK = "key_work"  # 行业重点账
    NEEDY_EMPLOYEE = "needy_employee"  # 困难职工台账
    PETITION = "petition"  # 信访维稳台账 (restricted)
    PROJECT_AID = "project_aid"  # 项目帮扶台账
    AID_PAIRING = "aid_pairing"  # 困难帮扶台账 (结对)


RESTRICTED: frozenset[Ledger] = frozenset({Ledger.STABILITY, Ledger.PETITION})
VILLAGE_LEDGERS: frozenset[Ledger] = frozenset(
    {Ledger.LIVELIHOOD, Ledger.HARDSHIP, Ledger.STABILITY}
)
DEPARTMENT_LEDGERS: frozenset[Ledger] = frozenset(Ledger) - VILLAGE_LEDGERS

HARDSHIP_REASONS = {
    "illness": "因病",
    "disaster": "因灾",
    "disability": "因残",
    "family_change": "重大家庭变故",
}
# The report counts 12 stability categories without naming them; these twelve are
# the usual headings of county stability ledgers, grouped under its three kinds
# (long-unresolved legacy issues, disputes that may lead to petitions, risk
# assessments of major policies and projects).
STABILITY_CATEGORIES = {
    "historical_legacy": "历史遗留问题",
    "land_acquisition": "征地拆迁",
    "land_contract": "土地承包与山林权属",
    "labour_wages": "劳资与欠薪纠纷",
    "enterprise_restructuring": "企业改制",
    "veterans": "退役军人安置",
    "marriage_family": "婚姻家庭纠纷",
    "neighbourhood": "邻里纠纷",
    "environment": "环境污染",
    "group_petition": "群体访、越级访苗头",
    "policy_risk": "重大政策实施风险",
    "project_risk": "重大项目建设风险",
}


@dataclasses.dataclass(frozen=True)
class LedgerKind:
    ledger: Ledger
    name: str
    categories: dict[str, str]
    household_required: bool = False


CATALOG: dict[Ledger, LedgerKind] = {
    kind.ledger: kind
    for kind in [
        LedgerKind(
            Ledger.LIVELIHOOD,
            "民生诉求",
            {"water": "水", "electricity": "电", "gas": "气", "road": "路", "other": "其他"},
        ),
        LedgerKind(Ledger.HARDSHIP, "困难群众", HARDSHIP_REASONS, household_required=True),
        LedgerKind(Ledger.STABILITY, "涉稳信息", STABILITY_CATEGORIES),
        LedgerKind(
            Ledger.KEY_WORK,
            "行业重点工作",
            {
                "service_style": "服务作风",
                "policy_implementation": "政策落实",
                "sector_problem": "行业系统问题",
                "other": "其他",
            },
        ),
        LedgerKind(Ledger.NEEDY_EMPLOYEE, "困难职工", HARDSHIP_REASONS),
        LedgerKind(Ledger.PETITION, "信访维稳", STABILITY_CATEGORIES),
        LedgerKind(
            Ledger.PROJECT_AID,
            "项目帮扶",
            {
                "infrastructure": "基础设施",
                "industry": "产业发展",
                "education": "教育",
                "health": "医疗卫生",
                "other": "其他",
            },
        ),
        LedgerKind(
            Ledger.AID_PAIRING,
            "困难帮扶结对",
            {
                "migrant_workers": "在外务工人员",
                "left_behind_children": "留守儿童",
                "elderly_alone": "空巢老人",
                "special_groups": "特殊群体",
            },
            household_required=True,
        ),
    ]
}


class Status(enum.StrEnum):
    """Where an item is in its handling."""

    RECEIVED = "received"  # 受理: the receiving cadre owns it (首问责任)
    ASSIGNED = "assigned"  # responsible cadre and method set
    PLANNED = "planned"  # a handling plan was made (形成处理方案)
    ESCALATED = "escalated"  # reported up to a higher body, awaiting its assignment
    RESOLVED = "resolved"  # solved (on the spot, or by the plan)
    DECLINED = "declined"  # policy does not allow it; answered with reasons


CLOSED_STATUSES: frozenset[Status] = frozenset({Status.RESOLVED, Status.DECLINED})


class Resolution(enum.StrEnum):
    """How a closed item was closed."""

    ON_THE_SPOT = "on_the_spot"  # 就地解决
    BY_PLAN = "by_plan"  # 按方案办结
    POLICY_DOES_NOT_ALLOW = "policy_does_not_allow"  # 政策不允许, 合理答复


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    DISSATISFIED = "dissatisfied"  # 不满意 (reopens the item)


class Action(enum.StrEnum):
    """What was done to an item; each is one line of its history."""

    RECEIVE = "receive"
    IMPORT = "import"
    ASSIGN = "assign"
    RESOLVE_ON_THE_SPOT = "resolve_on_the_spot"
    MAKE_PLAN = "make_plan"
    COMPLETE = "complete"
    ESCALATE = "escalate"
    DECLINE = "decline"
    RATE = "rate"


def categories(ledger: Ledger) -> dict[str, str]:
    return CATALOG[ledger].categories
