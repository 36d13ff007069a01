"""A concurrent burst of visits (twins with one key, copies of one input) leaves the
counters equal to a recount."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.settings import Environment, Settings
from app.system import system_context
from db import counters
from db.models import (
    AuditEvent,
    Cadre,
    HouseholdTally,
    IdempotencyKey,
    Visit,
    VisitKind,
)
from resolvers import visits
from resolvers.common.errors import ErrorCode
from resolvers.common.writes import Outcome
from tests.db.test_counters import DAY, counted_world

BURST_TWINS = 4  # keys each sent four times at once, with the same input
BURST_COPIES = 4


async def _burst(url: str) -> None:
    """Visits sent all at once: first visits, the quota crossed, condolences, twins."""
    _tree, h, c, _places = await counted_world(url)
    settings_ = Settings(database_url=url, environment=Environment.DEVELOPMENT)
    sends: list[tuple[str, visits.RecordVisitInput]] = []

    def send(
        key: str, household: int, cadre: int, notes: str = "", condolence: bool = False
    ) -> None:
        sends.append(
            (
                key,
                visits.RecordVisitInput(
                    household_id=household,
                    cadre_id=cadre,
                    visited_on=DAY,
                    notes=notes,
                    idempotency_key=key,
                    kind=VisitKind.CONDOLENCE if condolence else VisitKind.ROUTINE,
                    condolence_yuan=Decimal("88.80") if condolence else None,
                    people_visited=3 if condolence else None,
                ),
            )
        )

    for n, household in enumerate(h):  # one cadre visits every household: passes 20 at once
        send(f"burst-quota-{n:04d}", household, c[-2])
    for n in range(40):  # others, again and again to ten households; the rest are visited once
        send(f"burst-mixed-{n:04d}", h[n % 10], c[n % len(c)], condolence=n % 5 == 0)
    for n in range(BURST_TWINS):
        for _copy in range(BURST_COPIES):
            send(f"burst-twin-{n:04d}", h[n], c[0])
    for notes in ("甲", "甲", "乙"):  # one key, two inputs: one commits, the other is refused
        send("burst-reused-key", h[1], c[1], notes=notes)

    async with system_context(settings_) as context:
        outcomes = await asyncio.gather(*(visits.record_visit(context, data) for _k, data in sends))
        async with context.sessionmaker() as session:
            kept = await counters.stored(session)
            fresh = await counters.recount(session)
            visit_rows = (
                await session.execute(select(Visit.id, Visit.household_id, Visit.cadre_id))
            ).all()
            keys = (await session.scalars(select(IdempotencyKey.result_id))).all()
            audited = (
                await session.scalars(
                    select(AuditEvent.object_id).where(
                        AuditEvent.action == visits.RECORD_VISIT, AuditEvent.object_id.is_not(None)
                    )
                )
            ).all()
            household_tallies = dict(
                (
                    await session.execute(
                        select(HouseholdTally.household_id, HouseholdTally.value).where(
                            HouseholdTally.kind == "visits"
                        )
                    )
                ).all()
            )
            cadre_households = dict(
                (await session.execute(select(Cadre.id, Cadre.households_visited))).all()
            )

    by_key: dict[str, list[Outcome[Any]]] = defaultdict(list)
    for (key, _data), outcome in zip(sends, outcomes, strict=True):
        by_key[key].append(outcome)
    for key, sent in by_key.items():
        first = [o.value.id for o in sent if o.value is not None and not o.replayed]
        assert len(first) == 1, (key, sent)  # exactly one send of a key commits
        for other in sent:
            if other.value is not None:
                assert other.value.id == first[0], key  # replays: the first visit
            else:
                assert [e.code for e in other.errors] == [ErrorCode.IDEMPOTENCY_KEY_REUSED]
    assert len(visit_rows) == len(keys) == len(by_key)
    assert sorted(a or 0 for a in audited) == sorted(keys) == sorted(v.id for v in visit_rows)
    assert kept == fresh
    visits_of: dict[int, int] = defaultdict(int)
    pairs: set[tuple[int, int]] = set()
    for _id, household, cadre in visit_rows:
        visits_of[household] += 1
        pairs.add((cadre, household))
    assert household_tallies == visits_of
    for cadre_id in c:
        assert cadre_households[cadre_id] == sum(1 for c_, _h in pairs if c_ == cadre_id)
    assert len(h) >= counters.QUOTA and cadre_households[c[-2]] == len(h)


def test_a_concurrent_burst_of_visits_keeps_counters_exact(database_url: str) -> None:
    """Concurrent writers neither deadlock nor lose a count, and each key commits once."""
    asyncio.run(_burst(database_url))
