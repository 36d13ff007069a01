"""A compiled execution path for rollup documents: the response built straight from rows.

A query whose every field is an ``area(code:)`` with plain area fields, its
``rollup`` and its ``children`` (to any depth) is answered here without field
execution: its selection is read once per document text (``schema.fast_plan``), the one rollup
statement runs (``resolvers.rollups``, the same as ordinary execution uses,
with the same scopes, masking and audit), and the response is assembled from
the rows with the schema's own scalar serializers.

A plan is used only after ordinary execution has answered the same document
text once without errors (so parsing, validation and every limit were applied
to exactly this text); until then, and whenever a document is not of this
shape or its variables do not coerce, ordinary execution answers. Tests hold
both paths equal for every saved query and generated documents, for every role.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import orjson
from cachetools import LRUCache
from graphql import (
    FieldNode,
    GraphQLSchema,
)
from graphql.execution.values import get_variable_values
from strawberry.relay import to_base64

from resolvers import rollups as rollup_resolvers
from resolvers.common.context import Context
from resolvers.rollups import (
    Reading,
    RollupSelection,
    TargetRow,
)
from schema.fast_plan import Out, Plan, plan_of


@dataclasses.dataclass(frozen=True)
class Cached:
    """A response's ``data`` as sent, and what it was read from."""

    data: bytes
    reading: Reading


# What decides a compiled answer besides the rows: the document, the variables as sent,
# the caller's scopes (under one policy version) and the day (windows, overdue-as-of).
CacheKey = tuple[str, str | None, bytes, Hashable, int, dt.date]


class FastPath:
    """Plans per document text (bounded), their execution, and the exact response cache.

    A response of a one-area document is kept with the version its area had when the
    rollup statement read it. Every write bumps the version of each area it touches
    and of their ancestors, in its own transaction (``db.counters``); every row of the
    response lies in the area's subtree. So while the area is at that version the
    response is what the statement would answer now: a request then costs one
    primary-key read (which also writes a restricted read's audit line), never a
    stale answer. The key holds everything else the answer depends on.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        size: int = 1000,
        cache_bytes: int = 32 << 20,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self.schema = schema
        self.count = count or (lambda _outcome: None)  # kept, changed or computed
        self.plans: LRUCache[tuple[str, str | None], Plan | None] = LRUCache(maxsize=size)
        self.keeps = cache_bytes > 0
        self.responses: LRUCache[CacheKey, Cached] = LRUCache(
            maxsize=max(cache_bytes, 1), getsizeof=lambda cached: len(cached.data) + 200
        )
        decimal, date = schema.get_type("Decimal"), schema.get_type("Date")
        self._decimal = getattr(decimal, "serialize", str)
        self._date = getattr(date, "serialize", str)

    def plan(self, text: str, operation_name: str | None) -> Plan | None:
        key = (text, operation_name)
        if key not in self.plans:
            self.plans[key] = plan_of(text, operation_name)
        return self.plans[key]

    async def run(
        self, plan: Plan, variables: Mapping[str, Any] | None, context: Context
    ) -> dict[str, Any] | None:
        """The response's ``data``; None when the variables do not coerce (ordinary
        execution then answers, with its errors)."""
        found = await self.answer(plan, variables, context)
        return None if found is None else orjson.loads(found)

    def _key(
        self, plan: Plan, variables: Mapping[str, Any] | None, context: Context
    ) -> CacheKey | None:
        if not self.keeps or sum(root is not None for _k, root, _o, _d in plan.roots) != 1:
            return None  # one area per document: one version tells
        try:
            sent = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""
        except TypeError:
            return None
        access = context.access
        scopes = rollup_resolvers.scopes_of(access)
        text, name = plan.key
        return (text, name, sent, scopes, access.authorizer.version, context.today())

    async def answer(
        self, plan: Plan, variables: Mapping[str, Any] | None, context: Context
    ) -> bytes | None:
        """The response's ``data`` as JSON, from the cache while it holds; None when the
        variables do not coerce (ordinary execution then answers, with its errors)."""
        key = self._key(plan, variables, context)
        if key is not None and (cached := self.responses.get(key)) is not None:
            if await rollup_resolvers.unchanged(context, cached.reading):
                self.count("kept")
                return cached.data
            self.responses.pop(key, None)
            self.count("changed")
        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return None
        values = rollup_resolvers.coerced(coerced)
        data: dict[str, Any] = {}
        readings: list[Reading] = []
        for name, root, out, depth in plan.roots:
            if root is None:
                data[name] = "Query"
                continue
            code = rollup_resolvers.argument(root, "code", values)
            if not isinstance(code, str):
                return None
            selection = rollup_resolvers.read_selection([root], plan.fragments, values)
            answered = await rollup_resolvers.rows_by_code(
                context, code=code, selection=selection, depth=depth
            )
            if answered.rows:
                response = _Response(self, plan, answered.rows, values, context.today())
                data[name] = response.area(out, answered.rows[0])
                readings.append(rollup_resolvers.reading_of(answered))
            else:
                data[name] = None
        body = orjson.dumps(data)
        self.count("computed")
        if key is not None and len(readings) == 1 and len(body) + 200 <= self.responses.maxsize:
            self.responses[key] = Cached(body, readings[0])
        return body


class _Response:
    """One area field's response, assembled from the statement's rows."""

    def __init__(
        self,
        fast: FastPath,
        plan: Plan,
        rows: list[TargetRow],
        variables: dict[str, Any],
        today: dt.date,
    ) -> None:
        self.fast, self.plan, self.variables, self.today = fast, plan, variables, today
        self.children: dict[int, list[TargetRow]] = {}
        for row in rows[1:]:
            self.children.setdefault(row.parent_id or 0, []).append(row)
        self.selections: dict[int, RollupSelection] = {}

    def area(self, out: Out, row: TargetRow) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, name, arg in out:
            if name == "id":
                found[key] = to_base64("Area", row.id)
            elif name == "__typename":
                found[key] = "Area"
            elif name == "level":
                found[key] = row.level.upper()
            elif name == "name":
                found[key] = row.name
            elif name == "code":
                found[key] = row.code
            elif name == "children":
                found[key] = [self.area(arg, child) for child in self.children.get(row.id, [])]
            else:
                field, rollup = arg
                found[key] = self.rollup(field, rollup, row)
        return found

    def _selection(self, field: FieldNode) -> RollupSelection:
        if id(field) not in self.selections:
            found = rollup_resolvers.read_rollup(field, self.plan.fragments, self.variables)
            self.selections[id(field)] = found
        return self.selections[id(field)]

    def rollup(self, node: FieldNode, out: Out, row: TargetRow) -> dict[str, Any]:
        selection = self._selection(node)
        window = selection.window
        found: dict[str, Any] = {}
        for key, name, arg in out:
            if name in rollup_resolvers.COUNTS:
                found[key] = rollup_resolvers.count_of(row, name, selection)
            elif name in rollup_resolvers.PERCENTS:
                found[key] = rollup_resolvers.percent_of(row, name, selection)
            elif name == "condolenceAmount":
                found[key] = self.fast._decimal(rollup_resolvers.money_of(row, selection))
            elif name == "partial":
                found[key] = row.partial
            elif name in ("windowFrom", "windowTo"):
                day = None if window is None else window[name == "windowTo"]
                found[key] = None if day is None else self.fast._date(day)
            elif name == "__typename":
                found[key] = "Rollup"
            elif name == "overdueItems":
                day = rollup_resolvers.as_date(
                    rollup_resolvers.argument(arg, "asOf", self.variables)
                )
                found[key] = rollup_resolvers.overdue_of(row, day, self.today)
            else:
                field, type_name, items = arg
                entries = rollup_resolvers.list_of(row, name, selection)
                if name == "items":
                    ledgers = rollup_resolvers.argument(field, "ledgers", self.variables)
                    if ledgers is not None:
                        entries = [e for e in entries if e[0] in ledgers]
                found[key] = [self._item(items, type_name, entry) for entry in entries]
        return found

    def _item(
        self, items: list[tuple[str, int | None, bool]], type_name: str, entry: list[Any]
    ) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, index, is_week in items:
            if index is None:
                found[key] = type_name
            elif is_week:
                found[key] = self.fast._date(entry[index])
            else:
                found[key] = entry[index]
        return found
