"""Families read from the kept counters: pieces of the scopes, one pass, pivoted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)

from db import counters
from db.ledgers import RESTRICTED, Ledger
from db.models import (
    AreaCounter,
)
from db.paths import ancestor_ids, path_end
from db.queries.rollups.base import Base
from db.queries.rollups.shapes import (
    LEDGER_FAMILIES,
    SCALARS,
    Family,
    Need,
    in_range,
    ledgers_of,
    piece,
)


class Counted(Base):
    def _pieces(self) -> Any:
        """(target, holder, sign, tag): the counters that add up to each scope's part."""
        t = self.t
        branches = []
        for (grants, denied), tag in self.tags.items():
            # No grant: no cover (an empty OR is deprecated, and a warning in tests).
            cover = or_(false(), *(in_range(t.c.path, g.path, path_end(g.path)) for g in grants))
            if denied and grants:
                cover = and_(
                    cover, not_(or_(*(in_range(t.c.path, d, path_end(d)) for d in denied)))
                )
            branches.append(piece(t.c.id, t.c.id, 1, tag).where(cover))
            for sign, path in [(1, g.path) for g in grants] + [(-1, d) for d in denied]:
                ids = ancestor_ids(path)
                if not ids:
                    continue  # the root of everything lies under no target
                branches.append(
                    piece(t.c.id, literal(ids[-1]), sign, tag).where(
                        literal(path) > t.c.path, literal(path) < t.c.hi
                    )
                )
        if not branches:  # no scope to count in (e.g. `items(ledgers:)` names none visible)
            branches.append(piece(t.c.id, t.c.id, 1, -1).where(false()))
        return union_all(*branches).cte("pieces")

    def _counted(self, needs: list[Need]) -> None:
        """Every family read from counters, in two aggregations: the pieces' counter rows
        summed per (target, metric, key) — item statuses folded across ledgers — then
        pivoted per target (scalars as columns, lists as JSON arrays)."""
        pieces = self._pieces()
        c, p = AreaCounter.__table__.c, pieces.c
        metrics: dict[int, set[str]] = {}  # tag → scalar and needy metrics
        item_metrics: set[str] = set()
        ledgers: dict[int, dict[str, set[str]]] = {}  # tag → item metric → its ledgers
        for need in needs:
            if need.family in LEDGER_FAMILIES:
                metric = counters.ITEMS if need.family is Family.ITEMS else counters.ITEM_STATUS
                item_metrics.add(metric)
                for ledger, scope in ledgers_of(need, self.scopes):
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
            .where(c.metric.in_(sorted(every_metric)), or_(false(), *wanted))
            .group_by(p.target, c.metric, key)
            .subquery("x")
        )
        columns: list[Any] = [x.c.target]
        for need in needs:
            name = f"n{self.needs.index(need)}"
            if need.family in SCALARS:
                names = SCALARS[need.family]
                for i, m in enumerate(names):
                    total = cast(func.sum(x.c.v).filter(x.c.metric == m), BigInteger)
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
            audited = cast(func.sum(x.c.r).filter(x.c.metric.in_(ledger_metrics)), BigInteger)
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
