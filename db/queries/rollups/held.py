"""Families counted from the base rows: windows, overdue, weekly, department scopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    String,
    and_,
    case,
    cast,
    func,
    select,
    type_coerce,
)

from db import counters, scoping
from db.ledgers import RESTRICTED, Ledger
from db.models import (
    Area,
    Cadre,
    Household,
    LedgerItem,
    LedgerItemReason,
    Meeting,
    Suggestion,
    Visit,
)
from db.queries import ledger_items as item_queries
from db.queries.rollups.base import Base
from db.queries.rollups.shapes import (
    SCALARS,
    Family,
    Need,
    Window,
    ledgers_of,
    needy_scope,
)


class Held(Base):
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
                    scoping.clause(needy_scope(self.scopes), LedgerItem.area_path),
                    window.clause(LedgerItem.received_on),
                )
                .group_by(g.c.path, LedgerItemReason.reason)
                .subquery()
            )
            self._held_list(name, need, held, ["k"])
            return
        ledgers = {Ledger(k): s for k, s in ledgers_of(need, self.scopes)}
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
