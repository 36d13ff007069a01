"""What a rollup statement is made of: families of counts, needs, targets, scopes, rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    func,
    literal,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql import Select

from db import counters, scoping
from db.ledgers import Ledger
from db.paths import SEGMENT_WIDTH
from db.scoping import ScopeShape

SEGMENT = SEGMENT_WIDTH + 1  # characters a level adds to a path


class Window(NamedTuple):
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive

    def clause(self, column: Any) -> ColumnElement[bool]:
        parts = []
        if self.start is not None:
            parts.append(column >= self.start)
        if self.end is not None:
            parts.append(column <= self.end)
        return and_(*parts) if parts else true()


class Family(enum.StrEnum):
    """A group of counts computed together."""

    HOUSEHOLDS = "households"  # households
    VISITS = "visits"  # visits, visited households, condolence money and people
    CADRES = "cadres"  # cadres, of them visiting, of them at quota
    MEETINGS = "meetings"  # meetings, suggestions
    ITEMS = "items"  # [ledger, category, status, count]
    ITEM_STATUS = "item_status"  # [status, count], visible ledgers together
    NEEDY = "needy"  # [reason, households]
    OVERDUE = "overdue"  # count open and past the deadline on ``as_of``
    WEEKLY = "weekly"  # [monday, visits]


SCALARS: dict[Family, tuple[str, ...]] = {
    Family.HOUSEHOLDS: (counters.HOUSEHOLDS,),
    Family.VISITS: (
        counters.VISITS,
        counters.VISITED,
        counters.CONDOLENCE_FEN,
        counters.CONDOLENCE_PEOPLE,
    ),
    Family.CADRES: (counters.CADRES, counters.CADRES_ACTIVE, counters.CADRES_AT_QUOTA),
    Family.MEETINGS: (counters.MEETINGS, counters.SUGGESTIONS),
    Family.OVERDUE: ("overdue",),
}
# Which kinds of an area's version (``db.counters.VERSION``) each family's counts follow;
# every answer also shows the tree (names, children).
VERSION_KINDS: dict[Family, tuple[str, ...]] = {
    Family.HOUSEHOLDS: (counters.TREE,),
    Family.VISITS: (counters.OF_VISITS,),
    Family.WEEKLY: (counters.OF_VISITS,),
    Family.CADRES: (counters.TREE, counters.OF_VISITS),
    Family.MEETINGS: (counters.OF_MEETINGS,),
    Family.ITEMS: (counters.OF_ITEMS,),
    Family.ITEM_STATUS: (counters.OF_ITEMS,),
    Family.NEEDY: (counters.OF_ITEMS,),
    Family.OVERDUE: (counters.OF_ITEMS,),
}


def version_kinds(needs: Sequence[Need]) -> tuple[str, ...]:
    """The kinds of version an answer of ``needs`` follows, in a fixed order."""
    return tuple(sorted({counters.TREE, *(k for n in needs for k in VERSION_KINDS[n.family])}))


LEDGER_FAMILIES = frozenset({Family.ITEMS, Family.ITEM_STATUS, Family.OVERDUE})
UNDATED = frozenset({Family.HOUSEHOLDS})


class Need(NamedTuple):
    """One family of counts, for every target (a tuple: hashed by C, it keys dicts)."""

    family: Family
    window: Window | None = None  # None: all time
    as_of: dt.date | None = None  # overdue only
    ledgers: tuple[str, ...] | None = None  # items only: of these ledgers (None: all)


def need(
    family: Family,
    window: Window | None = None,
    as_of: dt.date | None = None,
    ledgers: tuple[str, ...] | None = None,
) -> Need:
    """The need of ``family`` in ``window`` (households are not dated: no window)."""
    return Need(family, None if family in UNDATED else window, as_of, ledgers)


def ledgers_of(need: Need, scopes: Scopes) -> list[tuple[str, ScopeShape]]:
    """The visible ledgers a ledger family counts (all, or those its field asked for)."""
    return [(k, s) for k, s in scopes.ledgers if need.ledgers is None or k in need.ledgers]


@dataclasses.dataclass(frozen=True)
class Targets:
    """Which areas: one by ``code`` (or one or more by id), and descendants ``depth`` down."""

    by_code: bool = True
    ids: int = 0  # how many ids, when not by code
    depth: int = 1


@dataclasses.dataclass(frozen=True, eq=False)
class Scopes:
    """The caller's read scopes the statement applies (values, hashable; the hash is
    computed once, as the value keys the cache of compiled statements)."""

    area: ScopeShape
    families: tuple[tuple[Family, ScopeShape], ...]  # non-ledger families
    ledgers: tuple[tuple[str, ScopeShape], ...]  # every visible ledger

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.area, self.families, self.ledgers)))

    def __hash__(self) -> int:
        found: int = self.__dict__["_hash"]
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scopes) and (self.area, self.families, self.ledgers) == (
            other.area,
            other.families,
            other.ledgers,
        )

    def of(self, family: Family) -> ScopeShape:
        return dict(self.families)[family]


@dataclasses.dataclass(frozen=True)
class TargetRow:
    id: int
    parent_id: int | None
    path: str
    name: str
    code: str | None
    level: str
    values: dict[Need, Any]  # scalar families: {metric: int}; lists: list of lists
    restricted: int  # restricted-ledger items the values include
    partial: bool  # some scope covers only part of the area
    version: int  # the area's versions of the kinds the counts follow, summed, when read


def department_narrowed(scope: ScopeShape) -> bool:
    return any(g.department_id is not None for g in scope.grants)


def from_counters(need: Need, scopes: Scopes) -> bool:
    if need.window is not None or need.family in (Family.OVERDUE, Family.WEEKLY):
        return False
    if need.family in LEDGER_FAMILIES:
        return not any(department_narrowed(s) for _l, s in scopes.ledgers)
    if need.family is Family.NEEDY:
        return not department_narrowed(needy_scope(scopes))
    return not department_narrowed(scopes.of(need.family))


def needy_scope(scopes: Scopes) -> ScopeShape:
    found = dict(scopes.ledgers).get(Ledger.HARDSHIP.value)
    return found if found is not None else scoping.NOWHERE


def in_range(column: Any, low: Any, high: Any) -> ColumnElement[bool]:
    return and_(column >= low, column < high)


def piece(target: Any, holder: Any, sign: int, tag: int) -> Select[Any]:
    return select(
        target.label("target"),
        holder.label("holder"),
        literal(sign).label("sign"),
        literal(tag).label("tag"),
    )


def end_of(path: Any) -> Any:
    """``path_end`` in SQL: the last character ``/`` becomes ``0``."""
    return type_coerce(func.substr(path, 1, func.length(path) - 1), String) + "0"
