"""DataLoaders, one set per request: N lookups in one resolver tick become one query.

Each loads through the caller's scope, so a row outside it loads as None,
exactly like a row that does not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db.ledgers import RESTRICTED
from db.models import (
    Area,
    Cadre,
    Department,
    Household,
    LedgerItem,
    LedgerItemEvent,
    Meeting,
    Suggestion,
    Visit,
)
from db.queries import areas as area_queries
from db.queries import cadres as cadre_queries
from db.queries import households as household_queries
from db.queries import ledger_items as item_queries
from db.queries import meetings as meeting_queries
from db.queries import visits as visit_queries
from policies.permissions import Obj
from resolvers.rollups import RollupSelection, RollupValue

if TYPE_CHECKING:
    from resolvers.common.access import Access

Reading = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)
G = TypeVar("G")


def _in_key_order(keys: Sequence[int], rows: Sequence[R]) -> list[R | None]:
    by_id = {row.id: row for row in rows}
    return [by_id.get(key) for key in keys]


def _group(keys: Sequence[int], rows: Sequence[G], key: Callable[[G], int]) -> list[list[G]]:
    by_key: dict[int, list[G]] = defaultdict(list)
    for row in rows:
        by_key[key(row)].append(row)
    return [by_key[k] for k in keys]


class Loaders:
    """``XByYLoader``s over the request's read session and the caller's scopes."""

    def __init__(self, reading: Reading, access: Access) -> None:
        self._reading = reading
        self._access = access
        self.area_by_id = DataLoader[int, Area | None](self._areas)
        self.children_by_area_id = DataLoader[int, list[Area]](self._children)
        self.household_by_id = DataLoader[int, Household | None](self._households)
        self.cadre_by_id = DataLoader[int, Cadre | None](self._cadres)
        self.department_by_id = DataLoader[int, Department | None](self._departments)
        self.visit_by_id = DataLoader[int, Visit | None](self._visits)
        self.meeting_by_id = DataLoader[int, Meeting | None](self._meetings)
        self.suggestion_by_id = DataLoader[int, Suggestion | None](self._suggestions)
        self.suggestions_by_meeting_id = DataLoader[int, list[Suggestion]](
            self._meeting_suggestions
        )
        self.ledger_item_by_id = DataLoader[int, LedgerItem | None](self._items)
        self.events_by_item_id = DataLoader[int, list[LedgerItemEvent]](self._events)
        self.reasons_by_item_id = DataLoader[int, list[str]](self._reasons)
        # Set by the context (its batch needs the whole context: today, the audit notes).
        self.rollup_by_area: DataLoader[tuple[int, RollupSelection], RollupValue]
        # Set by the context: called with the restricted rows a load returned.
        self.on_restricted_rows: Callable[[int], None] = lambda _rows: None

    async def _areas(self, keys: list[int]) -> list[Area | None]:
        async with self._reading() as session:
            rows = await area_queries.get_many(
                session=session, area_ids=keys, scope=self._access.scope(Obj.AREA)
            )
        return _in_key_order(keys, rows)

    async def _children(self, keys: list[int]) -> list[list[Area]]:
        async with self._reading() as session:
            rows = await area_queries.list_children(
                session=session, parent_ids=keys, scope=self._access.scope(Obj.AREA)
            )
        return _group(keys, rows, lambda row: row.parent_id or 0)

    async def _households(self, keys: list[int]) -> list[Household | None]:
        async with self._reading() as session:
            rows = await household_queries.get_many(
                session=session, household_ids=keys, scope=self._access.scope(Obj.HOUSEHOLD)
            )
        return _in_key_order(keys, rows)

    async def _cadres(self, keys: list[int]) -> list[Cadre | None]:
        async with self._reading() as session:
            rows = await cadre_queries.get_many(
                session=session,
                cadre_ids=keys,
                scope=self._access.scope(Obj.CADRE),
                self_id=self._access.cadre_id,
            )
        return _in_key_order(keys, rows)

    async def _departments(self, keys: list[int]) -> list[Department | None]:
        async with self._reading() as session:
            rows = await cadre_queries.get_departments(
                session=session, department_ids=keys, scope=self._access.scope(Obj.AREA)
            )
        return _in_key_order(keys, rows)

    async def _visits(self, keys: list[int]) -> list[Visit | None]:
        async with self._reading() as session:
            rows = await visit_queries.get_many(
                session=session, visit_ids=keys, scope=self._access.scope(Obj.VISIT)
            )
        return _in_key_order(keys, rows)

    async def _meetings(self, keys: list[int]) -> list[Meeting | None]:
        async with self._reading() as session:
            rows = await meeting_queries.get_many(
                session=session, meeting_ids=keys, scope=self._access.scope(Obj.MEETING)
            )
        return _in_key_order(keys, rows)

    async def _suggestions(self, keys: list[int]) -> list[Suggestion | None]:
        async with self._reading() as session:
            rows = await meeting_queries.get_suggestions(
                session=session, suggestion_ids=keys, scope=self._access.scope(Obj.MEETING)
            )
        return _in_key_order(keys, rows)

    async def _meeting_suggestions(self, keys: list[int]) -> list[list[Suggestion]]:
        async with self._reading() as session:
            rows = await meeting_queries.list_suggestions(session=session, meeting_ids=keys)
        return _group(keys, rows, lambda row: row.meeting_id)

    async def _items(self, keys: list[int]) -> list[LedgerItem | None]:
        async with self._reading() as session:
            rows = await item_queries.get_many(
                session=session, item_ids=keys, scopes=self._access.ledger_scopes()
            )
        self.on_restricted_rows(sum(row.ledger in RESTRICTED for row in rows))
        return _in_key_order(keys, rows)

    async def _events(self, keys: list[int]) -> list[list[LedgerItemEvent]]:
        async with self._reading() as session:
            rows = await item_queries.list_events(session=session, item_ids=keys)
        return _group(keys, rows, lambda row: row.item_id)

    async def _reasons(self, keys: list[int]) -> list[list[str]]:
        async with self._reading() as session:
            rows = await item_queries.list_reasons(session=session, item_ids=keys)
        grouped = _group(keys, rows, lambda row: row.item_id)
        return [[row.reason for row in group] for group in grouped]
