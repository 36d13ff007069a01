"""Counting ledger items (on creation and every transition), meetings and suggestions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.counters.bumps import bump, tally
from db.counters.keys import (
    ITEM_STATUS,
    ITEMS,
    MEETINGS,
    NEEDY,
    SUGGESTIONS,
    item_key,
    status_key,
)
from db.ledgers import Ledger
from db.models import (
    Area,
    Household,
    HouseholdTally,
    LedgerItem,
    LedgerItemReason,
)


async def items_recorded(session: AsyncSession, item_ids: Sequence[int]) -> None:
    """Count newly inserted ledger items (and their needy households, by reason)."""
    if not item_ids:
        return
    items = (
        await session.execute(
            select(
                LedgerItem.id,
                LedgerItem.ledger,
                LedgerItem.category,
                LedgerItem.status,
                LedgerItem.department_id,
                LedgerItem.area_path,
                LedgerItem.household_id,
            ).where(LedgerItem.id.in_(item_ids))
        )
    ).all()
    deltas: dict[tuple[str, str, str], int] = defaultdict(int)
    hardship: dict[int, int] = {}
    for item_id, ledger, category, status, _department, path, household_id in items:
        deltas[(path, ITEMS, item_key(ledger, category, status))] += 1
        deltas[(path, ITEM_STATUS, status_key(ledger, status))] += 1
        if ledger == Ledger.HARDSHIP and household_id is not None:
            hardship[item_id] = household_id
    if hardship:
        reasons = (
            await session.execute(
                select(LedgerItemReason.item_id, LedgerItemReason.reason).where(
                    LedgerItemReason.item_id.in_(list(hardship))
                )
            )
        ).all()
        per_pair: dict[tuple[int, str], int] = defaultdict(int)
        for item_id, reason in reasons:
            per_pair[(hardship[item_id], "reason:" + reason)] += 1
        after = await tally(
            session,
            HouseholdTally,
            ["household_id", "kind"],
            [{"household_id": h, "kind": k, "value": n} for (h, k), n in per_pair.items()],
            "value",
        )
        firsts = [(h, k) for (h, k), v in after.items() if v == per_pair[(h, k)]]
        if firsts:
            paths = dict(
                (
                    await session.execute(
                        select(Household.id, Area.path)
                        .join(Area, Area.id == Household.group_id)
                        .where(Household.id.in_(sorted({h for h, _k in firsts})))
                    )
                ).all()
            )
            for household_id, kind in firsts:
                deltas[(paths[household_id], NEEDY, kind.removeprefix("reason:"))] += 1
    await bump(session, deltas)


async def item_moved(
    session: AsyncSession,
    before: tuple[str, str, str, str, int | None],
    after: tuple[str, str, str, str, int | None],
) -> None:
    """An item's (path, ledger, category, status, department) changed in a transition
    (or only what these do not name, such as its closing day: its areas change version)."""
    old_path, *old = before
    new_path, *new = after
    deltas: dict[tuple[str, str, str], int] = defaultdict(int)
    old_ledger, old_category, old_status, _old_department = old
    new_ledger, new_category, new_status, _new_department = new
    deltas[(old_path, ITEMS, item_key(str(old_ledger), str(old_category), str(old_status)))] -= 1
    deltas[(new_path, ITEMS, item_key(str(new_ledger), str(new_category), str(new_status)))] += 1
    deltas[(old_path, ITEM_STATUS, status_key(str(old_ledger), str(old_status)))] -= 1
    deltas[(new_path, ITEM_STATUS, status_key(str(new_ledger), str(new_status)))] += 1
    await bump(session, deltas)


async def meeting_recorded(session: AsyncSession, area_path: str, suggestions: int) -> None:
    await bump(session, {(area_path, MEETINGS, ""): 1, (area_path, SUGGESTIONS, ""): suggestions})


async def suggestion_added(session: AsyncSession, area_path: str) -> None:
    await bump(session, {(area_path, SUGGESTIONS, ""): 1})
