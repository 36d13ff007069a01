"""Rollups: an area's counts (and its children's), as the caller may see them.

A request names a *family* of counts for an area, with an optional date
window. Unwindowed families are read from the kept counters when the caller's
scope is a plain set of subtrees: the area's own counter when the scope covers
it, else Σ counters of the granted subtrees inside it − Σ those of the denied
ones. Windows, overdue-as-of, weekly series, and department-narrowed scopes
are counted from the base rows with the scope in the SQL. Either way the
requests of one resolver tick are batched: one statement per family (and one
for all counters), whatever the number of areas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from db import counters
from db.ledgers import RESTRICTED, Ledger
from db.paths import ancestor_ids
from db.queries import rollups as rollup_queries
from db.queries.rollups import Row, Window
from policies.permissions import Act, Obj, ledger_object
from policies.scope import Scope
from resolvers.access import Access


class Family(enum.StrEnum):
    HOUSEHOLDS = "households"
    VISITS = "visits"
    CADRES = "cadres"
    MEETINGS = "meetings"
    ITEMS = "items"
    ITEM_STATUS = "item_status"
    NEEDY = "needy"
    OVERDUE = "overdue"
    WEEKLY = "weekly"


COUNTER_METRICS: dict[Family, tuple[str, ...]] = {
    Family.HOUSEHOLDS: (counters.HOUSEHOLDS,),
    Family.VISITS: (
        counters.VISITS,
        counters.VISITED,
        counters.CONDOLENCE_FEN,
        counters.CONDOLENCE_PEOPLE,
    ),
    Family.CADRES: (counters.CADRES, counters.CADRES_ACTIVE, counters.CADRES_AT_QUOTA),
    Family.MEETINGS: (counters.MEETINGS, counters.SUGGESTIONS),
    Family.ITEMS: (counters.ITEMS,),
    Family.ITEM_STATUS: (counters.ITEM_STATUS,),
    Family.NEEDY: (counters.NEEDY,),
}
# Families of a few scalar counters per area: fetched together whenever one is asked.
BUNDLE = (Family.HOUSEHOLDS, Family.VISITS, Family.CADRES, Family.MEETINGS)
LEDGER_METRICS = frozenset({counters.ITEMS, counters.ITEM_STATUS})
LEDGER_FAMILIES = frozenset({Family.ITEMS, Family.ITEM_STATUS, Family.OVERDUE})
FAMILY_OBJECT = {
    Family.HOUSEHOLDS: Obj.HOUSEHOLD.value,
    Family.VISITS: Obj.VISIT.value,
    Family.WEEKLY: Obj.VISIT.value,
    Family.CADRES: Obj.CADRE.value,
    Family.MEETINGS: Obj.MEETING.value,
    Family.NEEDY: ledger_object(Ledger.HARDSHIP.value),
}


@dataclasses.dataclass(frozen=True)
class Request:
    family: Family
    path: str
    window: Window | None = None  # None: all time
    as_of: dt.date | None = None  # overdue only


Counts = dict[tuple[str, str], int]  # (metric, key) → value


@dataclasses.dataclass(frozen=True)
class Answer:
    counts: Counts
    partial: bool


def _pieces(scope: Scope, path: str) -> list[tuple[int, str]] | None:
    """(sign, subtree) whose counters add up to the scope's part of ``path``; None when a
    department-narrowed grant makes counters unusable."""
    if any(g.department_id is not None for g in scope.grants):
        return None
    # Grants are disjoint subtrees and denials lie inside grants (Scope.of collapses).
    positive = [
        path if path.startswith(g.path) else g.path
        for g in scope.grants
        if path.startswith(g.path) or g.path.startswith(path)
    ]
    positive = [p for p in positive if not any(p.startswith(d) for d in scope.denied)]
    negative = [d for d in scope.denied if any(d.startswith(p) and d != p for p in positive)]
    return [(1, p) for p in positive] + [(-1, d) for d in negative]


class Rollups:
    """Answers batches of requests for one caller (one instance per request)."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self._partial: dict[tuple[Family, str], bool] = {}
        self._piece_memo: dict[tuple[Scope, str], list[tuple[int, str]] | None] = {}

    def _scope(self, family: Family) -> Scope:
        return self.access.scope(FAMILY_OBJECT[family], Act.READ)

    def _ledger_scopes(self) -> dict[Ledger, Scope]:
        return self.access.ledger_scopes(Act.READ)

    def partial(self, family: Family, path: str) -> bool:
        key = (family, path)
        if key not in self._partial:
            if family in LEDGER_FAMILIES:
                found = any(not s.covers(path) for s in self._ledger_scopes().values())
            else:
                found = not self._scope(family).covers(path)
            self._partial[key] = found
        return self._partial[key]

    async def answer(self, session: AsyncSession, requests: Sequence[Request]) -> list[Answer]:
        results: dict[Request, Counts] = {}
        from_counters: list[tuple[Request, list[tuple[Ledger | None, list[tuple[int, str]]]]]] = []
        from_rows: dict[tuple[Family, Window | None, dt.date | None], list[Request]] = defaultdict(
            list
        )
        for request in set(requests):
            plan = self._counter_plan(request)
            if plan is None:
                from_rows[(request.family, request.window, request.as_of)].append(request)
            else:
                from_counters.append((request, plan))
        if from_counters:
            results |= await self._from_counters(session, from_counters)
        for (family, window, as_of), group in from_rows.items():
            rows = await self._rows(session, family, [r.path for r in group], window, as_of)
            results |= _aggregate(group, rows)
        return [Answer(results[r], self.partial(r.family, r.path)) for r in requests]

    def _counter_plan(
        self, request: Request
    ) -> list[tuple[Ledger | None, list[tuple[int, str]]]] | None:
        if request.window is not None or request.family not in COUNTER_METRICS:
            return None
        if request.family in LEDGER_FAMILIES:
            plan: list[tuple[Ledger | None, list[tuple[int, str]]]] = []
            for ledger, scope in self._ledger_scopes().items():
                pieces = self._pieces(scope, request.path)
                if pieces is None:
                    return None
                plan.append((ledger, pieces))
            return plan
        pieces = self._pieces(self._scope(request.family), request.path)
        return None if pieces is None else [(None, pieces)]

    def _pieces(self, scope: Scope, path: str) -> list[tuple[int, str]] | None:
        key = (scope, path)
        if key not in self._piece_memo:
            self._piece_memo[key] = _pieces(scope, path)
        return self._piece_memo[key]

    async def _from_counters(
        self,
        session: AsyncSession,
        planned: list[tuple[Request, list[tuple[Ledger | None, list[tuple[int, str]]]]]],
    ) -> dict[Request, Counts]:
        area_of = {
            p: ancestor_ids(p)[-1] for _r, plan in planned for _l, ps in plan for _s, p in ps
        }
        metrics = sorted({m for r, _p in planned for m in COUNTER_METRICS[r.family]})
        # area → metric → ledger ("" for keys without one) → [(key, value)]
        stored: dict[int, dict[str, dict[str, list[tuple[str, int]]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        for area_id, metric, key, value in await rollup_queries.counter_rows(
            session=session, area_ids=sorted(set(area_of.values())), metrics=metrics
        ):
            prefix = key.split("|", 1)[0] if metric in LEDGER_METRICS else ""
            stored[area_id][metric][prefix].append((key, value))
        results: dict[Request, Counts] = {}
        for request, plan in planned:
            counts: Counts = defaultdict(int)
            for metric in COUNTER_METRICS[request.family]:
                for plan_ledger, pieces in plan:
                    name = plan_ledger.value if plan_ledger is not None else ""
                    for sign, path in pieces:
                        for key, value in stored[area_of[path]][metric][name]:
                            counts[(metric, key)] += sign * value
            results[request] = {k: v for k, v in counts.items() if v}
        return results

    async def _rows(
        self,
        session: AsyncSession,
        family: Family,
        paths: list[str],
        window: Window | None,
        as_of: dt.date | None,
    ) -> list[Row]:
        span = window or Window()
        match family:
            case Family.HOUSEHOLDS:
                return await rollup_queries.households(
                    session=session, paths=paths, scope=self._scope(family)
                )
            case Family.VISITS:
                return await rollup_queries.visits(
                    session=session, paths=paths, scope=self._scope(family), window=span
                )
            case Family.WEEKLY:
                return await rollup_queries.weekly_visits(
                    session=session, paths=paths, scope=self._scope(family), window=span
                )
            case Family.CADRES:
                return await rollup_queries.cadres(
                    session=session, paths=paths, scope=self._scope(family), window=span
                )
            case Family.MEETINGS:
                return await rollup_queries.meetings(
                    session=session, paths=paths, scope=self._scope(family), window=span
                )
            case Family.ITEMS | Family.ITEM_STATUS:
                return await rollup_queries.items(
                    session=session, paths=paths, scopes=self._ledger_scopes(), window=span
                )
            case Family.NEEDY:
                return await rollup_queries.needy(
                    session=session, paths=paths, scope=self._scope(family), window=span
                )
            case Family.OVERDUE:
                assert as_of is not None
                return await rollup_queries.overdue(
                    session=session, paths=paths, scopes=self._ledger_scopes(), as_of=as_of
                )
        raise AssertionError(family)


def _aggregate(requests: Sequence[Request], rows: Sequence[Row]) -> dict[Request, Counts]:
    """Add each holder's row to every requested area whose subtree holds it."""
    results: dict[Request, Counts] = {r: defaultdict(int) for r in requests}
    by_path: dict[str, list[Request]] = defaultdict(list)
    for request in requests:
        by_path[request.path].append(request)
    for holder, metric, key, value in rows:
        segments = holder.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            prefix = "/" + "/".join(segments[:depth]) + "/"
            for request in by_path.get(prefix, ()):
                results[request][(metric, key)] += value
    return {r: {k: v for k, v in c.items() if v} for r, c in results.items()}


def restricted_rows(counts: Counts) -> int:
    """How many restricted-ledger items a count includes (for the audit trail)."""
    return sum(
        value
        for (metric, key), value in counts.items()
        if metric in (counters.ITEMS, counters.ITEM_STATUS, "overdue")
        and Ledger(key.split("|")[0]) in RESTRICTED
    )
