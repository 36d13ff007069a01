"""Counters kept by every write equal a recount from the base rows, and every parent
equals the sum of its children plus what it holds itself — after random sequences of
writes through the resolvers (visits, batches, meetings, suggestions, items and their
transitions, imports), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.settings import Environment, Settings
from app.system import system_context
from db import counters
from db.engine import create_engine, create_sessionmaker, write_transaction
from db.ledgers import Action, Satisfaction
from db.models import (
    Area,
    Cadre,
    CadreRank,
    Household,
    VisitKind,
)
from resolvers import meetings, visits
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode
from resolvers.common.references import Ref
from resolvers.common.writes import Outcome
from resolvers.ledgers import handling as ledger_handling
from resolvers.ledgers import imports as ledger_imports
from resolvers.ledgers import recording as ledger_recording
from resolvers.ledgers import sheets
from tests.conftest import truncate_all
from tests.helpers import Tree, make_tree

DAY = dt.date(2014, 1, 10)

visit_op = st.tuples(st.just("visit"), st.integers(0, 29), st.integers(0, 3), st.booleans())
batch_op = st.tuples(
    st.just("batch"),
    st.lists(st.tuples(st.integers(0, 29), st.integers(0, 3)), min_size=1, max_size=30),
)
item_op = st.tuples(
    st.just("item"),
    st.sampled_from(["livelihood", "hardship", "stability", "key_work"]),
    st.integers(0, 3),
    st.integers(0, 29),
)
act_op = st.tuples(
    st.just("act"), st.integers(0, 20), st.sampled_from(list(Action)[2:]), st.booleans()
)
meeting_op = st.tuples(st.just("meeting"), st.integers(0, 3), st.integers(0, 3))
suggest_op = st.tuples(st.just("suggest"), st.integers(0, 10))
import_op = st.tuples(st.just("import"), st.integers(1, 5))
OPS = st.lists(
    st.one_of(visit_op, batch_op, item_op, act_op, meeting_op, suggest_op, import_op),
    min_size=1,
    max_size=25,
)


async def counted_world(url: str) -> tuple[Tree, list[int], list[int], list[int]]:
    engine = create_engine(url)
    try:
        await truncate_all(engine)
        sessionmaker = create_sessionmaker(engine)
        tree = await make_tree(sessionmaker)
        async with write_transaction(sessionmaker) as session:
            for n in range(2, 16):
                for group in (tree.group_id, tree.other_group_id):
                    session.add(Household(group_id=group, number=f"{n:03d}", head_name="户"))
            session.add(Cadre(name="多访", rank=CadreRank.AGENCY, area_id=tree.county_id))
            session.add(Cadre(name="组长", rank=CadreRank.GROUP_HEAD, area_id=tree.group_id))
            await session.flush()
            await counters.rebuild(session)
        async with sessionmaker() as session:
            households = list(
                (await session.scalars(select(Household.id).order_by(Household.id))).all()
            )
            cadres = list((await session.scalars(select(Cadre.id).order_by(Cadre.id))).all())
            places = [tree.village_id, tree.group_id, tree.other_group_id]
            places += [
                a
                for a in (
                    await session.scalars(select(Area.id).where(Area.parent_id == tree.township_id))
                ).all()
                if a not in places
            ]
    finally:
        await engine.dispose()
    return tree, households, cadres, places[:4]


def expect_ok(
    outcome: Outcome[Any], allowed: frozenset[ErrorCode] | set[ErrorCode] = frozenset()
) -> None:
    """Each write must succeed, but for the refusals its case may legitimately meet."""
    unexpected = [e for e in outcome.errors if e.code not in allowed]
    assert not unexpected, unexpected


async def _apply(
    context: Context, tree: Tree, ops: list[Any], h: list[int], c: list[int], places: list[int]
) -> None:
    items: list[int] = []
    meeting_ids: list[int] = []
    for n, op in enumerate(ops):
        key = f"op-key-{n:04d}"
        match op:
            case ("visit", hi, ci, condolence):
                expect_ok(
                    await visits.record_visit(
                        context,
                        visits.RecordVisitInput(
                            household_id=h[hi % len(h)],
                            cadre_id=c[ci % len(c)],
                            visited_on=DAY,
                            notes="",
                            idempotency_key=key,
                            kind=VisitKind.CONDOLENCE if condolence else VisitKind.ROUTINE,
                            condolence_yuan=Decimal("100.50") if condolence else None,
                            people_visited=2 if condolence else None,
                        ),
                    )
                )
            case ("batch", pairs):
                entries = [
                    visits.RecordVisitInput(
                        household_id=h[hi % len(h)],
                        cadre_id=c[ci % len(c)],
                        visited_on=DAY,
                        notes="",
                        idempotency_key=key,
                    )
                    for hi, ci in pairs
                ]
                expect_ok(await visits.record_visits(context, entries, key))
            case ("item", ledger, pi, hi):
                department = ledger == "key_work"
                outcome = await ledger_recording.record_item(
                    context,
                    ledger_recording.RecordItemInput(
                        ledger=ledger,
                        category={
                            "livelihood": "water",
                            "stability": "veterans",
                            "key_work": "other",
                        }.get(ledger),
                        reasons=("illness", "disaster") if ledger == "hardship" else (),
                        area=Ref(
                            given=not department,
                            id=None if department else places[pi % len(places)],
                        ),
                        department=Ref(
                            given=department, id=tree.department_id if department else None
                        ),
                        household=Ref(
                            given=ledger == "hardship",
                            id=h[hi % len(h)] if ledger == "hardship" else None,
                        ),
                        source_visit=Ref(),
                        source_meeting=Ref(),
                        source_suggestion=Ref(),
                        title="t",
                        description="",
                        received_on=DAY,
                        received_by_id=c[0],
                        idempotency_key=key,
                    ),
                )
                expect_ok(outcome, allowed={ErrorCode.NOT_IN_AREA})
                if outcome.value is not None:
                    items.append(outcome.value.id)
            case ("act", ii, action, dissatisfied):
                if items:
                    acted = await ledger_handling.transition(
                        context,
                        ledger_handling.TransitionInput(
                            action=action,
                            item_id=items[ii % len(items)],
                            actor_id=c[0],
                            on=DAY + dt.timedelta(days=1),
                            idempotency_key=key,
                            responsible_id=Ref(given=True, id=c[1]),
                            method="m",
                            plan="p",
                            to_area=Ref(given=True, id=tree.township_id),
                            reason="r",
                            satisfaction=Satisfaction.DISSATISFIED
                            if dissatisfied
                            else Satisfaction.SATISFIED,
                        ),
                    )
                    # Random actions meet illegal moves and escalations that go nowhere
                    # (a department's item has no area above it).
                    expect_ok(
                        acted,
                        {
                            ErrorCode.ILLEGAL_TRANSITION,
                            ErrorCode.NOT_ALLOWED_HERE,
                            ErrorCode.UNKNOWN_AREA,
                        },
                    )
            case ("meeting", pi, suggestions):
                outcome_m = await meetings.record_meeting(
                    context,
                    meetings.RecordMeetingInput(
                        area_id=places[pi % len(places)],
                        held_on=DAY,
                        host_cadre_id=c[0],
                        attendee_count=5,
                        topic="t",
                        notes="",
                        suggestions=tuple(f"s{k}" for k in range(suggestions)),
                        idempotency_key=key,
                    ),
                )
                expect_ok(outcome_m)
                if outcome_m.value is not None:
                    meeting_ids.append(outcome_m.value.id)
            case ("suggest", mi):
                if meeting_ids:
                    added = await meetings.add_suggestion(
                        context,
                        meetings.AddSuggestionInput(
                            meeting_id=meeting_ids[mi % len(meeting_ids)],
                            content="x",
                            household_id=None,
                            household_given=False,
                            idempotency_key=key,
                        ),
                    )
                    expect_ok(added)
            case ("import", rows):
                values = {
                    "ledger": "livelihood",
                    "category": "road",
                    "area_code": "519902101001",
                    "group": "一组",
                    "title": "导入",
                    "received_on": "2014-01-09",
                    "received_by": "李四",
                }
                # Distinct titles: rows alike in their receipt are duplicates, refused.
                sheet = sheets.write_xlsx(
                    [
                        [{**values, "title": f"导入{n}"}.get(col.key, "") for col in sheets.COLUMNS]
                        for n in range(rows)
                    ]
                )
                imported = await ledger_imports.import_sheet(
                    context, village_id=tree.village_id, file_name="x.xlsx", content=sheet,
                    idempotency_key=key,
                )  # fmt: skip
                expect_ok(imported)
                assert imported.value is not None and imported.value.imported == rows


async def _scenario(url: str, ops: list[Any]) -> None:
    tree, households, cadres, places = await counted_world(url)
    settings_ = Settings(database_url=url, environment=Environment.DEVELOPMENT)
    async with system_context(settings_) as context:
        await _apply(context, tree, ops, households, cadres, places)
        async with context.sessionmaker() as session:
            kept = await counters.stored(session)
            fresh = await counters.recount(session)
            held = await counters.held(session)
            children: dict[int, list[int]] = defaultdict(list)
            for area_id, parent_id in (
                await session.execute(select(Area.id, Area.parent_id))
            ).all():
                if parent_id is not None:
                    children[parent_id].append(area_id)
    assert kept == fresh
    for (area_id, metric, key), value in kept.items():
        below = sum(kept.get((child, metric, key), 0) for child in children[area_id])
        assert value == below + held.get((area_id, metric, key), 0), (area_id, metric, key)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_counters_equal_a_recount_after_any_writes(database_url: str, ops: list[Any]) -> None:
    asyncio.run(_scenario(database_url, ops))


def test_cadre_quota_is_counted_when_the_20th_household_is_visited(database_url: str) -> None:
    ops: list[Any] = [("batch", [(n, 0) for n in range(19)]), ("visit", 19, 0, False)]
    asyncio.run(_scenario(database_url, ops))

    async def quota() -> int:
        engine = create_engine(database_url)
        async with create_sessionmaker(engine)() as session:
            kept = await counters.stored(session)
        await engine.dispose()
        return sum(v for (_a, m, _k), v in kept.items() if m == counters.CADRES_AT_QUOTA)

    assert asyncio.run(quota()) >= 1
