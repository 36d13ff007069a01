"""The demo county: deterministic, idempotent, and the size the README promises."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import write_transaction
from db.models import Area, AreaLevel, Cadre, Household, Visit
from db.seed.demo import seed_demo
from tests.conftest import truncate_all


async def _fingerprint(session: AsyncSession) -> str:
    digest = hashlib.sha256()
    for statement in (
        select(Area.path, Area.name, Area.code, Area.level).order_by(Area.path),
        select(Household.group_id, Household.number, Household.head_name, Household.phone).order_by(
            Household.id
        ),
        select(Cadre.name, Cadre.rank, Cadre.area_id).order_by(Cadre.id),
        select(Visit.cadre_id, Visit.household_id, Visit.visited_on, Visit.notes).order_by(
            Visit.id
        ),
    ):
        for row in (await session.execute(statement)).all():
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


async def test_seed_is_idempotent_and_deterministic(
    clean_engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with write_transaction(sessionmaker) as session:
        first = await seed_demo(session)
    async with sessionmaker() as session:
        fingerprint = await _fingerprint(session)

    async with write_transaction(sessionmaker) as session:
        again = await seed_demo(session)
    assert first.created and not again.created
    assert (again.areas, again.households, again.visits) == (
        first.areas,
        first.households,
        first.visits,
    )
    async with sessionmaker() as session:
        assert await _fingerprint(session) == fingerprint

    await truncate_all(clean_engine)
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
    async with sessionmaker() as session:
        assert await _fingerprint(session) == fingerprint


async def test_seed_has_the_promised_shape(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with write_transaction(sessionmaker) as session:
        report = await seed_demo(session)
    async with sessionmaker() as session:
        levels = (await session.scalars(select(Area.level))).all()
    assert levels.count(AreaLevel.COUNTY) == 1
    assert levels.count(AreaLevel.TOWNSHIP) >= 2
    assert levels.count(AreaLevel.VILLAGE) >= 2 and levels.count(AreaLevel.COMMUNITY) >= 2
    assert 450 <= report.households <= 550
    assert 24 <= report.cadres <= 60
    assert report.visits > 100
