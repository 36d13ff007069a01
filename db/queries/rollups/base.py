"""The rollup statement's builder: targets, tags of scopes, partial views, JSON lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql

from db import scoping
from db.models import (
    Area,
)
from db.paths import path_end
from db.queries.rollups.shapes import (
    SEGMENT,
    Family,
    Need,
    Scopes,
    Targets,
    end_of,
    in_range,
    needy_scope,
)
from db.scoping import ScopeShape


class Base:
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
        columns = [c.id, c.parent_id, c.path, c.name, c.code, c.level, end_of(c.path).label("hi")]
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
                        c.path < end_of(self.root.c.path),
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
                path < select(end_of(root.c.path)).scalar_subquery(),
            )
        t = self.t
        return select(t.c.id).where(path >= t.c.path, path < t.c.hi).exists()

    # -- counters ------------------------------------------------------------------------

    def _tag(self, scope: ScopeShape) -> int:
        key = (tuple(scope.grants), tuple(scope.denied))
        if key not in self.tags:
            self.tags[key] = len(self.tags)
        return self.tags[key]

    def _scope_of(self, family: Family) -> ScopeShape:
        return needy_scope(self.scopes) if family is Family.NEEDY else self.scopes.of(family)

    def _partial(self) -> Any:
        """Whether some scope of the caller covers only part of a target (``Scope.covers``
        in SQL: a whole-area grant over it, and no denial over or under it)."""
        t = self.t
        scopes = [s for _f, s in self.scopes.families]
        scopes.append(needy_scope(self.scopes))
        scopes += [s for _l, s in self.scopes.ledgers]
        covered = []
        shapes = {(tuple(s.grants), tuple(s.denied)) for s in scopes}
        for grants, denied in sorted(shapes, key=_shape_order):
            whole = [g.path for g in grants if g.department_id is None]
            if not whole:
                return true()
            cover = or_(*(in_range(t.c.path, g, path_end(g)) for g in whole))
            for d in denied:
                cover = and_(
                    cover,
                    not_(in_range(literal(d), t.c.path, t.c.hi)),
                    not_(in_range(t.c.path, d, path_end(d))),
                )
            covered.append(cover)
        return not_(and_(*covered)) if covered else false()

    def _scalar_columns(self, name: str, metrics: Sequence[str], cte: Any) -> None:
        labels = [f"{name}_{i}" for i in range(len(metrics))]
        self.columns += [func.coalesce(getattr(cte.c, label), 0).label(label) for label in labels]

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


def _shape_order(shape: tuple[tuple[Any, ...], tuple[str, ...]]) -> Any:
    """A total order of scope shapes (a grant's department may be None: not comparable
    with a department's id by ``<``), so one shape always gives one statement text."""
    grants, denied = shape
    return [(g.path, g.department_id is not None, g.department_id or 0) for g in grants], denied
