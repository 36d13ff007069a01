"""DataLoaders, one set per request: N lookups in one resolver tick become one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from db.models import Area, Cadre, Department, Household, Visit
from db.queries import areas as area_queries
from db.queries import cadres as cadre_queries
from db.queries import households as household_queries
from db.queries import visits as visit_queries

Reading = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=HasId)


def _in_key_order(keys: Sequence[int], rows: Sequence[R]) -> list[R | None]:
    by_id = {row.id: row for row in rows}
    return [by_id.get(key) for key in keys]


class Loaders:
    """``XByYLoader``s over the request's read session."""

    def __init__(self, reading: Reading) -> None:
        self._reading = reading
        self.area_by_id = DataLoader[int, Area | None](self._areas)
        self.children_by_area_id = DataLoader[int, list[Area]](self._children)
        self.household_by_id = DataLoader[int, Household | None](self._households)
        self.cadre_by_id = DataLoader[int, Cadre | None](self._cadres)
        self.department_by_id = DataLoader[int, Department | None](self._departments)
        self.visit_by_id = DataLoader[int, Visit | None](self._visits)

    async def _areas(self, keys: list[int]) -> list[Area | None]:
        async with self._reading() as session:
            return _in_key_order(keys, await area_queries.get_many(session=session, area_ids=keys))

    async def _children(self, keys: list[int]) -> list[list[Area]]:
        async with self._reading() as session:
            rows = await area_queries.list_children(session=session, parent_ids=keys)
        by_parent: dict[int | None, list[Area]] = defaultdict(list)
        for row in rows:
            by_parent[row.parent_id].append(row)
        return [by_parent[key] for key in keys]

    async def _households(self, keys: list[int]) -> list[Household | None]:
        async with self._reading() as session:
            rows = await household_queries.get_many(session=session, household_ids=keys)
        return _in_key_order(keys, rows)

    async def _cadres(self, keys: list[int]) -> list[Cadre | None]:
        async with self._reading() as session:
            return _in_key_order(
                keys, await cadre_queries.get_many(session=session, cadre_ids=keys)
            )

    async def _departments(self, keys: list[int]) -> list[Department | None]:
        async with self._reading() as session:
            rows = await cadre_queries.get_departments(session=session, department_ids=keys)
        return _in_key_order(keys, rows)

    async def _visits(self, keys: list[int]) -> list[Visit | None]:
        async with self._reading() as session:
            return _in_key_order(
                keys, await visit_queries.get_many(session=session, visit_ids=keys)
            )
