"""The demo's meetings and ledgers go through the resolvers, and load once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.demo import seed_demo_ledgers
from app.settings import Settings
from app.system import system_context
from db.engine import write_transaction
from db.models import LedgerItem, LedgerItemEvent, Meeting
from db.seed.demo import seed_demo


async def test_demo_ledgers_load_once(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
    async with system_context(settings) as context:
        first = await seed_demo_ledgers(context)
    async with system_context(settings) as context:
        again = await seed_demo_ledgers(context)
    assert first.meetings == 12 and first.items >= 80 and first.actions > 50
    assert (again.meetings, again.items, again.actions) == (0, 0, 0)
    async with sessionmaker() as session:
        ledgers = set((await session.scalars(select(LedgerItem.ledger))).all())
        assert {"livelihood", "hardship", "stability", "key_work"} <= ledgers
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 12
        events = await session.scalar(select(func.count()).select_from(LedgerItemEvent))
        assert events == first.items + first.actions
