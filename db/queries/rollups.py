"""Rollups as one statement: an area (or several), its descendants to a depth, every count.

The statement finds the target areas inside the caller's area scope, computes
each needed family of counts for every target, and pivots them into one row
per target (scalar counts as columns, lists as JSON arrays built by the
database). Where it can, a family is read from the kept counters
(``area_counter``): a target the family's scope covers reads its own row; a
partly covered one adds the counters of the granted subtrees inside it and
subtracts those of the denied ones. Windows, overdue-as-of, weekly series and
department-narrowed scopes are counted from the base rows, grouped by the
holding area and then summed per target, with the scope in the SQL.

On PostgreSQL the statement also writes the audit line of a restricted read (a
data-modifying CTE), so the read and its audit are one round trip.

The SQL text is built and compiled once per shape — which targets, which
families, the scopes — and reused with new parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import asyncpg
import orjson
from cachetools import LRUCache
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    String,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from db import counters, scoping
from db.ledgers import RESTRICTED, Ledger
from db.models import (
    Area,
    AreaCounter,
    AuditEvent,
    Cadre,
    Household,
    LedgerItem,
    LedgerItemReason,
    Meeting,
    Suggestion,
    Visit,
)
from db.paths import SEGMENT_WIDTH, ancestor_ids, path_end
from db.queries import ledger_items as item_queries
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
LISTS = frozenset({Family.ITEMS, Family.ITEM_STATUS, Family.NEEDY, Family.WEEKLY})
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


def _ledgers_of(need: Need, scopes: Scopes) -> list[tuple[str, ScopeShape]]:
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


def _department_narrowed(scope: ScopeShape) -> bool:
    return any(g.department_id is not None for g in scope.grants)


def _from_counters(need: Need, scopes: Scopes) -> bool:
    if need.window is not None or need.family in (Family.OVERDUE, Family.WEEKLY):
        return False
    if need.family in LEDGER_FAMILIES:
        return not any(_department_narrowed(s) for _l, s in scopes.ledgers)
    if need.family is Family.NEEDY:
        return not _department_narrowed(_needy_scope(scopes))
    return not _department_narrowed(scopes.of(need.family))


def _needy_scope(scopes: Scopes) -> ScopeShape:
    found = dict(scopes.ledgers).get(Ledger.HARDSHIP.value)
    return found if found is not None else scoping.NOWHERE


def _in_range(column: Any, low: Any, high: Any) -> ColumnElement[bool]:
    return and_(column >= low, column < high)


def _piece(target: Any, holder: Any, sign: int, tag: int) -> Select[Any]:
    return select(
        target.label("target"),
        holder.label("holder"),
        literal(sign).label("sign"),
        literal(tag).label("tag"),
    )


def _end(path: Any) -> Any:
    """``path_end`` in SQL: the last character ``/`` becomes ``0``."""
    return type_coerce(func.substr(path, 1, func.length(path) - 1), String) + "0"


class _Builder:
    def __init__(self, dialect: str, targets: Targets, needs: Sequence[Need], scopes: Scopes):
        self.dialect = dialect
        self.needs = list(needs)
        self.scopes = scopes
        self.targets_spec = targets
        self.ctes: list[Any] = []
        self.columns: list[Any] = []
        self.readers: list[tuple[Need, str, list[str]]] = []  # need, kind, column labels
        self.restricted: list[Any] = []
        self.tags: dict[tuple[tuple[Any, ...], tuple[str, ...]], int] = {}
        self.params: list[str] = []  # the request's parameters, in placeholder order
        a = Area.__table__.c
        area_scope = scoping.clause(scopes.area, a.path)
        if targets.by_code:
            found = a.code == self.param("code", "VARCHAR")
        else:
            found = a.id.in_([self.param(f"id{i}", "INTEGER") for i in range(targets.ids)])
        self.root = select(a.id, a.path).where(found, area_scope).cte("root")
        self.t = self._targets(targets).cte("t")

    def param(self, name: str, sql_type: str) -> Any:
        """A placeholder for a value that changes per request. Everything else (the
        scopes, metric names, windows) is rendered into the text, which then has only
        these parameters: PostgreSQL plans it once per connection (a generic plan)."""
        self.params.append(name)
        n = len(self.params)
        marker = f"${n}" if self.dialect == "postgresql" else f"?{n}"
        return literal_column(f"CAST({marker} AS {sql_type})")

    # -- targets -------------------------------------------------------------------------

    def _targets(self, spec: Targets) -> Any:
        area = Area.__table__.alias("ta")
        c = area.c
        columns = [c.id, c.parent_id, c.path, c.name, c.code, c.level, _end(c.path).label("hi")]
        own = select(*columns).join(self.root, self.root.c.id == c.id)
        if spec.depth == 0:
            return own
        scope = scoping.clause(self.scopes.area, c.path)
        if spec.depth == 1:
            below = select(*columns).join(self.root, self.root.c.id == c.parent_id).where(scope)
        else:
            below = (
                select(*columns)
                .join(
                    self.root,
                    and_(
                        c.path > self.root.c.path,
                        c.path < _end(self.root.c.path),
                        func.length(c.path) <= func.length(self.root.c.path) + SEGMENT * spec.depth,
                    ),
                )
                .where(scope)
            )
        return union_all(own, below)

    def _under_targets(self, path: Any) -> ColumnElement[bool]:
        """Rows held somewhere under the targets (the root's subtree, or any target's)."""
        if self.targets_spec.by_code or self.targets_spec.ids == 1:
            root = self.root
            return and_(
                path >= select(root.c.path).scalar_subquery(),
                path < select(_end(root.c.path)).scalar_subquery(),
            )
        t = self.t
        return select(t.c.id).where(path >= t.c.path, path < t.c.hi).exists()

    # -- counters ------------------------------------------------------------------------

    def _tag(self, scope: ScopeShape) -> int:
        key = (tuple(scope.grants), tuple(scope.denied))
        if key not in self.tags:
            self.tags[key] = len(self.tags)
        return self.tags[key]

    def _pieces(self) -> Any:
        """(target, holder, sign, tag): the counters that add up to each scope's part."""
        t = self.t
        branches = []
        for (grants, denied), tag in self.tags.items():
            cover = or_(*(_in_range(t.c.path, g.path, path_end(g.path)) for g in grants))
            if denied:
                cover = and_(
                    cover, not_(or_(*(_in_range(t.c.path, d, path_end(d)) for d in denied)))
                )
            if not grants:
                cover = false()
            branches.append(_piece(t.c.id, t.c.id, 1, tag).where(cover))
            for sign, path in [(1, g.path) for g in grants] + [(-1, d) for d in denied]:
                ids = ancestor_ids(path)
                if not ids:
                    continue  # the root of everything lies under no target
                branches.append(
                    _piece(t.c.id, literal(ids[-1]), sign, tag).where(
                        literal(path) > t.c.path, literal(path) < t.c.hi
                    )
                )
        return union_all(*branches).cte("pieces") if branches else None

    def _scope_of(self, family: Family) -> ScopeShape:
        return _needy_scope(self.scopes) if family is Family.NEEDY else self.scopes.of(family)

    def build(self) -> Select[Any]:
        counted = [n for n in self.needs if _from_counters(n, self.scopes)]
        for need in counted:
            if need.family in LEDGER_FAMILIES:
                for _ledger, scope in _ledgers_of(need, self.scopes):
                    self._tag(scope)
            else:
                self._tag(self._scope_of(need.family))
        if counted:
            self._counted(counted)
        for index, need in enumerate(self.needs):
            if need not in counted:
                self._row_need(need, f"n{index}")
        t = self.t
        query = select(
            t.c.id, t.c.parent_id, t.c.path, t.c.name, t.c.code, t.c.level, *self.columns
        ).select_from(t)
        for cte, condition in self.ctes:
            query = query.outerjoin(cte, condition)
        restricted = sum(self.restricted, literal(0)) if self.restricted else literal(0)
        return query.add_columns(
            restricted.label("restricted"), self._partial().label("partial")
        ).order_by(t.c.path)

    def _partial(self) -> Any:
        """Whether some scope of the caller covers only part of a target (``Scope.covers``
        in SQL: a whole-area grant over it, and no denial over or under it)."""
        t = self.t
        scopes = [s for _f, s in self.scopes.families]
        scopes.append(_needy_scope(self.scopes))
        scopes += [s for _l, s in self.scopes.ledgers]
        covered = []
        for grants, denied in sorted({(tuple(s.grants), tuple(s.denied)) for s in scopes}):
            whole = [g.path for g in grants if g.department_id is None]
            if not whole:
                return true()
            cover = or_(*(_in_range(t.c.path, g, path_end(g)) for g in whole))
            for d in denied:
                cover = and_(
                    cover,
                    not_(_in_range(literal(d), t.c.path, t.c.hi)),
                    not_(_in_range(t.c.path, d, path_end(d))),
                )
            covered.append(cover)
        return not_(and_(*covered)) if covered else false()

    def _scalar_columns(self, name: str, metrics: Sequence[str], cte: Any) -> None:
        labels = [f"{name}_{i}" for i in range(len(metrics))]
        self.columns += [func.coalesce(getattr(cte.c, label), 0).label(label) for label in labels]

    def _counted(self, needs: list[Need]) -> None:
        """Every family read from counters, in two aggregations: the pieces' counter rows
        summed per (target, metric, key) — item statuses folded across ledgers — then
        pivoted per target (scalars as columns, lists as JSON arrays)."""
        pieces = self._pieces()
        assert pieces is not None
        c, p = AreaCounter.__table__.c, pieces.c
        metrics: dict[int, set[str]] = {}  # tag → scalar and needy metrics
        item_metrics: set[str] = set()
        ledgers: dict[int, dict[str, set[str]]] = {}  # tag → item metric → its ledgers
        for need in needs:
            if need.family in LEDGER_FAMILIES:
                metric = counters.ITEMS if need.family is Family.ITEMS else counters.ITEM_STATUS
                item_metrics.add(metric)
                for ledger, scope in _ledgers_of(need, self.scopes):
                    per_metric = ledgers.setdefault(self._tag(scope), {})
                    per_metric.setdefault(metric, set()).add(ledger)
            else:
                names = SCALARS.get(need.family, (counters.NEEDY,))
                metrics.setdefault(self._tag(self._scope_of(need.family)), set()).update(names)
        every_metric = {m for names in metrics.values() for m in names} | item_metrics
        bar = self._strpos(c.key, "|")
        # An item key's ledger, compared by equality: range comparisons of the key under
        # the database's collation cost as much as the rest of the statement.
        prefix = func.substr(c.key, 1, bar - 1)
        everything = {ledger.value for ledger in Ledger}

        def of_tag(tag: int) -> Any:
            parts: list[Any] = []
            if tag in metrics:
                parts.append(c.metric.in_(sorted(metrics[tag])))
            for metric, named in sorted(ledgers.get(tag, {}).items()):
                counted = c.metric == metric
                parts.append(
                    counted if named == everything else and_(counted, prefix.in_(sorted(named)))
                )
            return and_(p.tag == tag, or_(*parts))

        wanted = [of_tag(tag) for tag in sorted(set(metrics) | set(ledgers))]
        key = case(
            (c.metric == counters.ITEM_STATUS, func.substr(c.key, bar + 1)), else_=c.key
        ).label("k")
        restricted = prefix.in_(sorted(r.value for r in RESTRICTED))
        ledger_metric = c.metric.in_([counters.ITEMS, counters.ITEM_STATUS])
        value = p.sign * c.value
        x = (
            select(
                p.target,
                c.metric,
                key,
                cast(func.sum(value), BigInteger).label("v"),
                cast(
                    func.sum(case((and_(ledger_metric, restricted), value), else_=0)), BigInteger
                ).label("r"),
            )
            .select_from(pieces.join(AreaCounter.__table__, c.area_id == p.holder))
            # The metric list first: with the area, an index condition of the primary key.
            .where(c.metric.in_(sorted(every_metric)), or_(*wanted))
            .group_by(p.target, c.metric, key)
            .subquery("x")
        )
        columns: list[Any] = [x.c.target]
        for need in needs:
            name = f"n{self.needs.index(need)}"
            if need.family in SCALARS:
                names = SCALARS[need.family]
                for i, m in enumerate(names):
                    total = func.sum(x.c.v).filter(x.c.metric == m)
                    columns.append(func.coalesce(total, 0).label(f"{name}_{i}"))
                self.readers.append((need, "scalar", list(names)))
                continue
            if need.family is Family.NEEDY:
                metric, elements = counters.NEEDY, [x.c.k, x.c.v]
            elif need.family is Family.ITEM_STATUS:
                metric, elements = counters.ITEM_STATUS, [x.c.k, x.c.v]
            else:
                metric, elements = counters.ITEMS, [*self._split3(x.c.k), x.c.v]
            columns.append(self._json_array(elements, x.c.metric == metric, x.c.v != 0).label(name))
            self.readers.append((need, "list", [name]))
        ledger_metrics = [
            counters.ITEMS if n.family is Family.ITEMS else counters.ITEM_STATUS
            for n in needs
            if n.family in (Family.ITEMS, Family.ITEM_STATUS)
        ]
        if ledger_metrics:
            audited = func.sum(x.c.r).filter(x.c.metric.in_(ledger_metrics))
            columns.append(func.coalesce(audited, 0).label("r"))
        cc = select(*columns).group_by(x.c.target).cte("cc")
        self.ctes.append((cc, cc.c.target == self.t.c.id))
        for column in columns[1:]:
            name = column.key
            if name == "r":
                self.restricted.append(func.coalesce(cc.c.r, 0))
            elif name.rsplit("_", 1)[-1].isdigit() and "_" in name:
                self.columns.append(func.coalesce(getattr(cc.c, name), 0).label(name))
            else:
                self.columns.append(func.coalesce(getattr(cc.c, name), "[]").label(name))

    def _split3(self, key: Any) -> list[Any]:
        """``ledger|category|status`` as its three parts."""
        first = self._strpos(key, "|")
        rest = func.substr(key, first + 1)
        second = self._strpos(rest, "|")
        return [
            func.substr(key, 1, first - 1),
            func.substr(rest, 1, second - 1),
            func.substr(rest, second + 1),
        ]

    def _json_array(self, elements: list[Any], *where: Any) -> Any:
        """A JSON array of arrays, of the rows that meet ``where`` (as text)."""
        if self.dialect == "postgresql":
            return cast(func.json_agg(func.json_build_array(*elements)).filter(*where), Text)
        return func.json_group_array(func.json_array(*elements)).filter(*where)

    def _ledger_list(self, need: Need, name: str, rows: Any) -> None:
        """Items or statuses from rows (target, ledger, rest, n, r); rest is category|status
        for items, the status for statuses."""
        if rows is None:  # no visible ledger
            self.columns.append(literal("[]").label(name))
            self.readers.append((need, "list", [name]))
            return
        if need.family is Family.ITEMS:
            bar = self._strpos(rows.c.rest, "|")
            keyed = select(
                rows.c.target,
                rows.c.ledger.label("l"),
                func.substr(rows.c.rest, 1, bar - 1).label("c"),
                func.substr(rows.c.rest, bar + 1).label("s"),
                rows.c.n,
                rows.c.r,
            ).subquery()
            keys = ["l", "c", "s"]
        else:
            keyed = select(rows.c.target, rows.c.rest.label("s"), rows.c.n, rows.c.r).subquery()
            keys = ["s"]
        self._list(name, need, keyed, keys, keys, restricted=True)

    def _strpos(self, text: Any, needle: str) -> Any:
        return (
            func.strpos(text, needle) if self.dialect == "postgresql" else func.instr(text, needle)
        )

    def _list(
        self,
        name: str,
        need: Need,
        rows: Any,
        keys: list[str],
        order: list[str],
        *,
        restricted: bool = False,
    ) -> None:
        """Sum rows (target, *keys, n[, r]) per target and key; one JSON array per target."""
        summed_n = func.sum(rows.c.n)
        grouped = (
            select(
                rows.c.target,
                *(getattr(rows.c, k) for k in keys),
                cast(summed_n, BigInteger).label("n"),
                *(
                    [cast(func.sum(rows.c.r * rows.c.n), BigInteger).label("r")]
                    if restricted
                    else []
                ),
            )
            .group_by(rows.c.target, *(getattr(rows.c, k) for k in keys))
            .having(summed_n != 0)
            .subquery()
        )
        elements = [getattr(grouped.c, k) for k in keys] + [grouped.c.n]
        ordering = [getattr(grouped.c, k) for k in order]
        array: Any
        if self.dialect == "postgresql":
            array = cast(
                func.json_agg(
                    postgresql.aggregate_order_by(func.json_build_array(*elements), *ordering)
                ),
                Text,
            )
            source: Any = grouped
        else:
            source = select(grouped).order_by(grouped.c.target, *ordering).subquery()
            array = func.json_group_array(
                func.json_array(*(getattr(source.c, e.key) for e in elements))
            )
        columns = [source.c.target, array.label("a")]
        if restricted:
            columns.append(cast(func.sum(source.c.r), BigInteger).label("r"))
        cte = select(*columns).group_by(source.c.target).cte(name)
        self.ctes.append((cte, cte.c.target == self.t.c.id))
        self.columns.append(func.coalesce(cte.c.a, "[]").label(name))
        if restricted:
            self.restricted.append(func.coalesce(cte.c.r, 0))
        self.readers.append((need, "list", [name]))

    # -- base rows -----------------------------------------------------------------------

    def _per_target(self, name: str, need: Need, held: Any, metrics: Sequence[str]) -> None:
        """Sum a per-holder aggregate (path, m0, m1, …) over each target's subtree."""
        t = self.t
        cte = (
            select(
                t.c.id.label("target"),
                *(
                    cast(func.sum(getattr(held.c, f"m{i}")), BigInteger).label(f"{name}_{i}")
                    for i in range(len(metrics))
                ),
            )
            .select_from(t.join(held, and_(held.c.path >= t.c.path, held.c.path < t.c.hi)))
            .group_by(t.c.id)
            .cte(name)
        )
        self.ctes.append((cte, cte.c.target == t.c.id))
        self._scalar_columns(name, metrics, cte)
        self.readers.append((need, "scalar", list(metrics)))

    def _held_list(
        self, name: str, need: Need, held: Any, keys: list[str], *, restricted: bool = False
    ) -> None:
        t = self.t
        rows = (
            select(
                t.c.id.label("target"),
                *(getattr(held.c, k) for k in keys),
                held.c.n,
                *([held.c.r] if restricted else []),
            )
            .select_from(t.join(held, and_(held.c.path >= t.c.path, held.c.path < t.c.hi)))
            .subquery()
        )
        self._list(name, need, rows, keys, keys, restricted=restricted)

    def _row_need(self, need: Need, name: str) -> None:
        window = need.window or Window()
        family = need.family
        if family in (Family.HOUSEHOLDS, Family.VISITS, Family.WEEKLY):
            scope = self.scopes.of(Family.VISITS if family is Family.WEEKLY else family)
            g = Area.__table__.alias("g")
            where = [self._under_targets(g.c.path), scoping.clause(scope, g.c.path)]
            if family is Family.HOUSEHOLDS:
                held = (
                    select(g.c.path, func.count().label("m0"))
                    .select_from(g.join(Household, Household.group_id == g.c.id))
                    .where(*where)
                    .group_by(g.c.path)
                    .subquery()
                )
                self._per_target(name, need, held, SCALARS[family])
                return
            source = g.join(Household, Household.group_id == g.c.id).join(
                Visit, Visit.household_id == Household.id
            )
            where.append(window.clause(Visit.visited_on))
            if family is Family.VISITS:
                held = (
                    select(
                        g.c.path,
                        func.count().label("m0"),
                        func.count(func.distinct(Visit.household_id)).label("m1"),
                        func.coalesce(func.sum(Visit.condolence_fen), 0).label("m2"),
                        func.coalesce(func.sum(Visit.people_visited), 0).label("m3"),
                    )
                    .select_from(source)
                    .where(*where)
                    .group_by(g.c.path)
                    .subquery()
                )
                self._per_target(name, need, held, SCALARS[family])
                return
            if self.dialect == "postgresql":
                week: Any = cast(func.date_trunc("week", Visit.visited_on), Date)
            else:  # SQLite: weekday 0 is Sunday; step back to Monday
                week = func.date(Visit.visited_on, "-6 days", "weekday 1")
            held = (
                select(g.c.path, week.label("w"), func.count().label("n"))
                .select_from(source)
                .where(*where)
                .group_by(g.c.path, week)
                .subquery()
            )
            self._held_list(name, need, held, ["w"])
            return
        if family is Family.CADRES:
            a = Area.__table__.alias("ca")
            per_cadre = (
                select(Visit.cadre_id, func.count(func.distinct(Visit.household_id)).label("n"))
                .where(window.clause(Visit.visited_on))
                .group_by(Visit.cadre_id)
                .subquery()
            )
            visited = func.coalesce(per_cadre.c.n, 0)
            held = (
                select(
                    a.c.path,
                    func.count().label("m0"),
                    func.sum(case((visited >= 1, 1), else_=0)).label("m1"),
                    func.sum(case((visited >= counters.QUOTA, 1), else_=0)).label("m2"),
                )
                .select_from(
                    Cadre.__table__.join(a, a.c.id == Cadre.area_id).outerjoin(
                        per_cadre, per_cadre.c.cadre_id == Cadre.id
                    )
                )
                .where(
                    self._under_targets(a.c.path),
                    scoping.clause(self.scopes.of(family), a.c.path),
                )
                .group_by(a.c.path)
                .subquery()
            )
            self._per_target(name, need, held, SCALARS[family])
            return
        if family is Family.MEETINGS:
            a = Area.__table__.alias("ma")
            held = (
                select(
                    a.c.path,
                    func.count(func.distinct(Meeting.id)).label("m0"),
                    func.count(Suggestion.id).label("m1"),
                )
                .select_from(
                    Meeting.__table__.join(a, a.c.id == Meeting.area_id).outerjoin(
                        Suggestion, Suggestion.meeting_id == Meeting.id
                    )
                )
                .where(
                    self._under_targets(a.c.path),
                    scoping.clause(self.scopes.of(family), a.c.path),
                    window.clause(Meeting.held_on),
                )
                .group_by(a.c.path)
                .subquery()
            )
            self._per_target(name, need, held, SCALARS[family])
            return
        if family is Family.NEEDY:
            g = Area.__table__.alias("ng")
            held = (
                select(
                    g.c.path,
                    LedgerItemReason.reason.label("k"),
                    func.count(func.distinct(LedgerItem.household_id)).label("n"),
                )
                .select_from(
                    LedgerItem.__table__.join(
                        LedgerItemReason, LedgerItemReason.item_id == LedgerItem.id
                    )
                    .join(Household, Household.id == LedgerItem.household_id)
                    .join(g, g.c.id == Household.group_id)
                )
                .where(
                    LedgerItem.ledger == Ledger.HARDSHIP,
                    self._under_targets(g.c.path),
                    scoping.clause(_needy_scope(self.scopes), LedgerItem.area_path),
                    window.clause(LedgerItem.received_on),
                )
                .group_by(g.c.path, LedgerItemReason.reason)
                .subquery()
            )
            self._held_list(name, need, held, ["k"])
            return
        ledgers = {Ledger(k): s for k, s in _ledgers_of(need, self.scopes)}
        restricted = case((LedgerItem.ledger.in_(sorted(r.value for r in RESTRICTED)), 1), else_=0)
        where = [self._under_targets(LedgerItem.area_path), item_queries.visible(ledgers)]
        if family is Family.OVERDUE:
            assert need.as_of is not None
            held = (
                select(
                    LedgerItem.area_path.label("path"),
                    func.count().label("m0"),
                    func.sum(restricted).label("r"),
                )
                .where(*where, item_queries.overdue_clause(need.as_of))
                .group_by(LedgerItem.area_path)
                .subquery()
            )
            self._per_target(name, need, held, SCALARS[family])
            t = self.t
            audit = (
                select(
                    t.c.id.label("target"), cast(func.sum(held.c.r), BigInteger).label("r")
                )
                .select_from(t.join(held, and_(held.c.path >= t.c.path, held.c.path < t.c.hi)))
                .group_by(t.c.id)
                .cte(f"{name}_r")
            )  # fmt: skip
            self.ctes.append((audit, audit.c.target == t.c.id))
            self.restricted.append(func.coalesce(audit.c.r, 0))
            return
        held = (
            select(
                LedgerItem.area_path.label("path"),
                LedgerItem.ledger.label("ledger"),
                (
                    LedgerItem.category + "|" + LedgerItem.status
                    if family is Family.ITEMS
                    else type_coerce(LedgerItem.status, String)
                ).label("rest"),
                func.count().label("n"),
                restricted.label("r"),
            )
            .where(*where, window.clause(LedgerItem.received_on))
            .group_by(
                LedgerItem.area_path, LedgerItem.ledger, LedgerItem.category, LedgerItem.status
            )
            .subquery()
        )
        t = self.t
        rows = (
            select(t.c.id.label("target"), held.c.ledger, held.c.rest, held.c.n, held.c.r)
            .select_from(t.join(held, and_(held.c.path >= t.c.path, held.c.path < t.c.hi)))
            .subquery()
        )
        self._ledger_list(need, name, rows)


# The driver's errors that mean the connection is gone (the statement did not run).
DISCONNECTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    ConnectionError,
)


@dataclasses.dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # bind parameter names in positional order
    defaults: Mapping[str, Any]  # the values of the scope's parameters
    readers: tuple[tuple[Need, str, tuple[str, ...]], ...]
    audits: bool  # the statement writes the audit line itself


_compiled: LRUCache[Hashable, Compiled] = LRUCache(maxsize=512)


def compiled(
    dialect: Any, targets: Targets, needs: Sequence[Need], scopes: Scopes, *, audit: bool
) -> Compiled:
    """The statement for this shape, compiled once (cached per shape and scopes)."""
    key = (dialect.name, targets, tuple(needs), scopes, audit)
    found = _compiled.get(key)
    if found is not None:
        return found
    builder = _Builder(dialect.name, targets, needs, scopes)
    query = builder.build()
    writes = audit and dialect.name == "postgresql" and bool(builder.restricted)
    if writes:
        result = query.cte("result")
        total = func.sum(result.c.restricted)
        line = (
            insert(AuditEvent)
            .from_select(
                ["user_id", "action", "object_type", "scope", "rows", "request_id"],
                select(
                    builder.param("audit_user", "INTEGER"),
                    literal("read:rollup"),
                    literal("ledger_item"),
                    func.substr(
                        func.string_agg(
                            result.c.path,
                            postgresql.aggregate_order_by(literal(";"), result.c.path),
                        ),
                        1,
                        2000,
                    ),
                    total,
                    builder.param("audit_request", "VARCHAR"),
                )
                .where(
                    result.c.restricted > 0,
                    # The line commits without waiting for its WAL flush, as a read should
                    # (lost only if the database server itself crashes in that window).
                    func.set_config("synchronous_commit", "off", True).is_not(None),
                )
                .having(total > 0),
            )
            .returning(AuditEvent.id)
            .cte("audit")
        )
        query = select(result).order_by(result.c.path).add_cte(line)
    text = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    names = tuple(builder.params)
    found = Compiled(
        sql=str(text),
        names=names,
        defaults={},
        readers=tuple((n, kind, tuple(cols)) for n, kind, cols in builder.readers),
        audits=writes,
    )
    _compiled[key] = found
    return found


async def run(
    connection: AsyncConnection,
    statement: Compiled,
    params: Mapping[str, Any],
) -> list[TargetRow]:
    """Run a compiled rollup statement; one row per target, in tree order.

    On PostgreSQL through the driver's own connection: asyncpg prepares the text
    once per connection and runs it in one round trip; SQLAlchemy's execution
    layer around it cost more CPU than the rest of the request's database work.
    The connection is autocommit (the rollup engine's), so nothing is left open.
    """
    values = {**statement.defaults, **params}
    arguments = tuple(values.get(name) for name in statement.names)
    rows: Sequence[Any]
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        rows = await driver.fetch(statement.sql, *arguments)
    else:
        rows = (await connection.exec_driver_sql(statement.sql, arguments)).all()
    found = []
    row: Any
    for row in rows:
        index = 6
        got: dict[Need, Any] = {}
        for need, kind, columns in statement.readers:
            if kind == "scalar":
                got[need] = {m: int(row[index + i]) for i, m in enumerate(columns)}
                index += len(columns)
            else:
                raw = row[index]
                # Order is the key's, decided here for both databases alike.
                got[need] = sorted(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)
                index += 1
        found.append(
            TargetRow(
                id=row[0],
                parent_id=row[1],
                path=row[2],
                name=row[3],
                code=row[4],
                level=row[5],
                values=got,
                restricted=int(row[index]),
                partial=bool(row[index + 1]),
            )
        )
    return found
