"""The demo county's meetings and ledgers, recorded through the same resolvers as the API.

Every write carries a deterministic idempotency key, so loading again (or after
an interruption) replays what is there and adds only what is missing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from sqlalchemy import select

from db.ledgers import HARDSHIP_REASONS, STABILITY_CATEGORIES, Action, Satisfaction
from db.models import Area, AreaLevel, Cadre, CadreRank, Department, Household
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE
from db.seed import query_files
from db.seed.demo import COUNTY_CODE, SEED
from resolvers import meetings, saved_query_files
from resolvers.access import grants as access_grants
from resolvers.access import users as access_users
from resolvers.common.context import Context
from resolvers.common.references import Ref
from resolvers.common.writes import Outcome
from resolvers.ledgers import handling as ledger_handling
from resolvers.ledgers import recording as ledger_recording
from schema.root import graphql_schema

TOPICS = ["饮水安全", "村道硬化", "低保评议", "产业发展", "环境整治"]
SUGGESTIONS = ["修通组道路", "解决饮水问题", "改造电网", "安装路灯", "建文化活动室", "疏通排水沟"]
LIVELIHOOD_TITLES = {
    "water": "饮水管道老化漏水",
    "electricity": "电压不稳需改造",
    "gas": "天然气管网未通",
    "road": "组道路坑洼难行",
    "other": "垃圾收运不及时",
}
# How far each demo item has been handled: the actions applied after receipt.
PATHS: list[list[Action]] = [
    [],
    [Action.ASSIGN],
    [Action.ASSIGN, Action.MAKE_PLAN],
    [Action.RESOLVE_ON_THE_SPOT, Action.RATE],
    [Action.ASSIGN, Action.MAKE_PLAN, Action.COMPLETE, Action.RATE],
    [Action.ASSIGN, Action.DECLINE],
    [Action.ESCALATE],
]


@dataclasses.dataclass
class DemoLedgerReport:
    meetings: int = 0
    items: int = 0
    actions: int = 0


async def seed_demo_ledgers(context: Context) -> DemoLedgerReport:
    rng = random.Random(SEED + 1)
    report = DemoLedgerReport()
    async with context.reading() as session:
        county = await area_queries.get_by_code(session=session, code=COUNTY_CODE, scope=EVERYWHERE)
        assert county is not None, "load the demo county first"
        in_county = area_queries.in_subtree(county.path)
        villages = (
            await session.scalars(
                select(Area)
                .where(in_county, Area.level.in_([AreaLevel.VILLAGE, AreaLevel.COMMUNITY]))
                .order_by(Area.path)
            )
        ).all()
        groups = (
            await session.scalars(
                select(Area).where(in_county, Area.level == AreaLevel.GROUP).order_by(Area.path)
            )
        ).all()
        households = (
            await session.scalars(
                select(Household)
                .where(Household.group_id.in_([g.id for g in groups]))
                .order_by(Household.id)
            )
        ).all()
        cadres = (await session.scalars(select(Cadre).order_by(Cadre.id))).all()
        departments = (
            await session.scalars(
                select(Department).where(Department.county_id == county.id).order_by(Department.id)
            )
        ).all()
    await context.close()

    township_cadres = [c for c in cadres if c.rank is CadreRank.TOWNSHIP]
    village_cadre = {c.area_id: c for c in cadres if c.rank is CadreRank.VILLAGE}
    groups_of = {v.id: [g for g in groups if g.parent_id == v.id] for v in villages}
    homes = {g.id: [h for h in households if h.group_id == g.id] for g in groups}
    day0 = dt.date(2014, 1, 8)

    for index, village in enumerate(villages):
        host = village_cadre[village.id]
        outcome = await meetings.record_meeting(
            context,
            meetings.RecordMeetingInput(
                area_id=village.id,
                held_on=day0 + dt.timedelta(days=index),
                host_cadre_id=host.id,
                attendee_count=rng.randint(25, 80),
                topic=rng.choice(TOPICS),
                notes="",
                suggestions=tuple(rng.sample(SUGGESTIONS, rng.randint(1, 3))),
                idempotency_key=f"demo-meeting-{index:04d}",
            ),
        )
        report.meetings += _counted(outcome)

        for n in range(6):
            reasons: tuple[str, ...]
            group = rng.choice(groups_of[village.id])
            household = rng.choice(homes[group.id])
            if n < 3:
                category = rng.choice(list(LIVELIHOOD_TITLES))
                ledger, title, reasons = "livelihood", LIVELIHOOD_TITLES[category], ()
                place, who = (village if n == 0 else group), None
            elif n < 5:
                reasons = tuple(rng.sample(sorted(HARDSHIP_REASONS), rng.randint(1, 2)))
                ledger, category, title = "hardship", reasons[0], "困难户帮扶"
                place, who = group, household
            else:
                category = rng.choice(sorted(STABILITY_CATEGORIES))
                ledger, title, reasons = "stability", STABILITY_CATEGORIES[category], ()
                place, who = village, None
            key = f"demo-item-{index:04d}-{n}"
            item = await ledger_recording.record_item(
                context,
                ledger_recording.RecordItemInput(
                    ledger=ledger,
                    category=category if ledger != "hardship" else None,
                    reasons=reasons,
                    area=Ref(given=True, id=place.id),
                    department=Ref(),
                    household=Ref(given=who is not None, id=who.id if who else None),
                    source_visit=Ref(),
                    source_meeting=Ref(),
                    source_suggestion=Ref(),
                    title=title,
                    description="",
                    received_on=day0 + dt.timedelta(days=rng.randint(0, 30)),
                    received_by_id=host.id,
                    idempotency_key=key,
                ),
            )
            report.items += _counted(item)
            assert item.value is not None, item.errors
            helper = rng.choice(township_cadres)
            for step, action in enumerate(rng.choice(PATHS)):
                done = await ledger_handling.transition(
                    context,
                    ledger_handling.TransitionInput(
                        action=action,
                        item_id=item.value.id,
                        actor_id=host.id,
                        on=item.value.received_on + dt.timedelta(days=3 * (step + 1)),
                        idempotency_key=f"{key}-{step}",
                        responsible_id=Ref(given=True, id=helper.id),
                        method="现场核实, 协调解决",
                        plan="列入年度计划实施",
                        to_area=Ref(given=True, id=village.parent_id),
                        reason="不符合政策规定, 已作解释",
                        satisfaction=rng.choice(list(Satisfaction)[:2]),
                    ),
                )
                assert not done.errors, done.errors
                report.actions += _counted(done)

    for index, department in enumerate(departments):
        for n, (ledger, category) in enumerate(
            [("key_work", "service_style"), ("project_aid", "infrastructure")]
        ):
            item = await ledger_recording.record_item(
                context,
                ledger_recording.RecordItemInput(
                    ledger=ledger,
                    category=category,
                    reasons=(),
                    area=Ref(),
                    department=Ref(given=True, id=department.id),
                    household=Ref(),
                    source_visit=Ref(),
                    source_meeting=Ref(),
                    source_suggestion=Ref(),
                    title=f"{department.name}重点工作",
                    description="",
                    received_on=day0 + dt.timedelta(days=index + n),
                    received_by_id=cadres[0].id,
                    idempotency_key=f"demo-department-{index:04d}-{n}",
                ),
            )
            report.items += _counted(item)
    return report


def _counted(outcome: Outcome[Any]) -> int:
    """1 for a new write, 0 for a replay (the demo was loaded before)."""
    assert not outcome.errors, outcome.errors
    return 0 if outcome.replayed else 1


# username → (role, area code) for the demo county: one user per typical role.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "leader": ("county_leader", COUNTY_CODE),
    "stability": ("stability_officer", COUNTY_CODE),
    "guide": ("guidance_member", COUNTY_CODE),
    "tleader": ("township_leader", f"{COUNTY_CODE}101"),
    "township": ("township_cadre", f"{COUNTY_CODE}101"),
    "secretary": ("village_secretary", f"{COUNTY_CODE}101001"),
    "village": ("village_cadre", f"{COUNTY_CODE}101001"),
    "reporter": ("reporting_tool", COUNTY_CODE),
    "auditor": ("auditor", COUNTY_CODE),
    "admin": ("admin", COUNTY_CODE),
}


async def seed_demo_users(context: Context) -> int:
    """Create the demo users with their grants; returns how many were new."""
    created = 0
    async with context.reading() as session:
        areas = {
            code: await area_queries.get_by_code(session=session, code=code, scope=EVERYWHERE)
            for _role, code in DEMO_USERS.values()
        }
    for username, (role, code) in DEMO_USERS.items():
        made = await access_users.create_user(
            context, username=username, display_name=username, cadre_id=None
        )
        created += made.value is not None
        area = areas[code]
        assert area is not None
        await access_grants.change_grant(
            context, access_grants.GrantInput(username, role, area.id, None)
        )
    return created


async def seed_saved_queries(context: Context) -> list[saved_query_files.Pushed]:
    """Save the queries shipped in ``db/seed/queries`` (unchanged ones stay as they are)."""
    files = saved_query_files.read_folder(query_files())
    return await saved_query_files.push(context, graphql_schema(), files)
