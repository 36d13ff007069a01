"""The truth table, on both databases: every role × action × object (each ledger kind
included) × inside/outside the grant, our SQL against Casbin's own enforce().

Each role is granted at one village. Rows inside it and rows in the neighbouring
village are read through the scoped queries and written through the scoped
INSERT … SELECT statements; a row must be reachable exactly when enforce() says
so. Reads are checked once more end to end, through ``node(id:)`` over HTTP.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from casbin.util import key_match
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from app.system import system_context
from db.ledgers import DEPARTMENT_LEDGERS, Ledger, Status
from db.models import AreaLevel, LedgerItem, LedgerItemEvent, Meeting, Visit
from db.queries import areas as area_queries
from db.queries import households as household_queries
from db.queries import ledger_items as item_queries
from db.queries import meetings as meeting_queries
from db.queries import visits as visit_queries
from db.scoping import EVERYWHERE
from policies.authorizer import Authorizer, new_enforcer, shipped_rules
from policies.permissions import Act, Obj, Role, ledger_object
from resolvers import saved_queries
from resolvers.common.access import Access, Grant, Principal
from schema.root import graphql_schema
from tests.conftest import token_for
from tests.helpers import Tree, global_id, grant, make_tree

RULES = shipped_rules()


class Rollback(Exception):
    pass


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """The tree, and one row of every kind inside the village and outside it."""
    tree = await make_tree(sessionmaker)
    async with sessionmaker.begin() as session:
        areas = {
            a.id: a
            for a in await area_queries.get_many(
                session=session, area_ids=[tree.group_id, tree.other_group_id], scope=EVERYWHERE
            )
        }
        places = {
            "inside": (areas[tree.group_id], tree.household_id),
            "outside": (areas[tree.other_group_id], tree.other_household_id),
        }
        rows: dict[str, dict[str, int]] = {}
        for place, (group, household_id) in places.items():
            ids: dict[str, int] = {"household": household_id, "area": group.id}
            visit = Visit(
                cadre_id=tree.cadre_id,
                household_id=household_id,
                visited_on=dt.date(2014, 1, 6),
                notes="",
            )
            meeting = Meeting(
                area_id=group.id,
                held_on=dt.date(2014, 1, 6),
                host_cadre_id=tree.cadre_id,
                attendee_count=10,
                topic="t",
                notes="",
            )
            session.add_all([visit, meeting])
            await session.flush()
            ids["visit"], ids["meeting"] = visit.id, meeting.id
            for ledger in Ledger:
                item_id = await session.scalar(
                    insert(LedgerItem)
                    .values(**_item_values(ledger, group.id, group.path, tree))
                    .returning(LedgerItem.id)
                )
                assert item_id is not None
                ids[ledger.value] = item_id
            rows[place] = ids
        paths = {"inside": areas[tree.group_id].path, "outside": areas[tree.other_group_id].path}
        village = (
            await area_queries.get_many(
                session=session, area_ids=[tree.village_id], scope=EVERYWHERE
            )
        )[0]
    return {"tree": tree, "rows": rows, "paths": paths, "village": village}


def _item_values(ledger: Ledger, area_id: int, path: str, tree: Tree) -> dict[str, Any]:
    return {
        "ledger": ledger,
        "category": "x",
        "title": "t",
        "description": "",
        "area_id": area_id,
        "area_path": path,
        "department_id": tree.department_id if ledger in DEPARTMENT_LEDGERS else None,
        "received_on": dt.date(2014, 1, 6),
        "received_by_id": tree.cadre_id,
        "deadline": dt.date(2014, 1, 20),
        "deadline_provisional": False,
        "status": Status.RECEIVED,
        "version": 1,
    }


def _reference(role: str, village_path: str) -> Any:
    enforcer = new_enforcer(RULES)
    enforcer.add_named_domain_matching_func("g", key_match)
    enforcer.add_grouping_policy("u", role, village_path + "*")
    return enforcer


async def _reachable(
    session: AsyncSession, access: Access, obj: str, act: Act, place: str, world: dict[str, Any]
) -> bool:
    """Whether the row of ``obj`` at ``place`` is reachable for ``act`` through our SQL."""
    rows, tree = world["rows"][place], world["tree"]
    scope = access.scope(obj, act)
    if obj.startswith("ledger."):
        ledger = Ledger(obj.removeprefix("ledger."))
        if act is Act.READ:
            found = await item_queries.get_many(
                session=session, item_ids=[rows[ledger.value]], scopes={ledger: scope}
            )
            return bool(found)
        values = _item_values(ledger, rows["area"], "", tree)
        del values["area_path"]
        event = LedgerItemEvent(
            action="receive", actor_id=tree.cadre_id, occurred_on=dt.date(2014, 1, 6),
            from_status=None, to_status=Status.RECEIVED, note="",
        )  # fmt: skip
        created = await item_queries.create(
            session=session, scope=scope, values=values, reasons=(), event=event
        )
        return created is not None
    if obj == Obj.VISIT and act is Act.WRITE:
        made = await visit_queries.create(
            session=session,
            scope=scope,
            cadre_id=tree.cadre_id,
            household_id=rows["household"],
            visited_on=dt.date(2014, 1, 7),
            notes="",
        )
        return made is not None
    if obj == Obj.MEETING and act is Act.WRITE:
        made_meeting = await meeting_queries.create(
            session=session,
            scope=scope,
            levels=list(AreaLevel),
            area_id=rows["area"],
            held_on=dt.date(2014, 1, 7),
            host_cadre_id=tree.cadre_id,
            attendee_count=1,
            topic="t",
            notes="",
            suggestions=(),
        )
        return made_meeting is not None
    if obj == Obj.VISIT:
        return bool(
            await visit_queries.get_many(session=session, visit_ids=[rows["visit"]], scope=scope)
        )
    if obj == Obj.MEETING:
        return bool(
            await meeting_queries.get_many(
                session=session, meeting_ids=[rows["meeting"]], scope=scope
            )
        )
    if obj in (Obj.HOUSEHOLD, Obj.HOUSEHOLD_PII):
        return bool(
            await household_queries.get_many(
                session=session, household_ids=[rows["household"]], scope=scope
            )
        )
    # area, cadre, audit, access: the row is the area itself.
    return bool(await area_queries.get_many(session=session, area_ids=[rows["area"]], scope=scope))


OBJECTS = [o.value for o in Obj] + [ledger_object(ledger.value) for ledger in Ledger]


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_sql_scopes_match_casbin_for_every_action_object_and_place(
    sessionmaker: async_sessionmaker[AsyncSession], world: dict[str, Any], role: str
) -> None:
    village = world["village"]
    access = Access(
        Principal(1, "u", None, (Grant(role, village.id, village.path, None),)),
        Authorizer(RULES),
    )
    enforcer = _reference(role, village.path)
    wrong = []
    checked = 0
    for obj in OBJECTS:
        for act in Act:
            for place in ("inside", "outside"):
                expected = enforcer.enforce("u", world["paths"][place], obj, act.value)
                try:
                    async with sessionmaker.begin() as session:
                        actual = await _reachable(session, access, obj, act, place, world)
                        raise Rollback
                except Rollback:
                    pass
                checked += 1
                if actual != expected:
                    wrong.append(f"{obj} {act.value} {place}: ours={actual} casbin={expected}")
    assert checked == len(OBJECTS) * 2 * 2
    assert wrong == []


NODE = "query ($id: ID!) { node(id: $id) { id } }"


@pytest.mark.parametrize("role", [r.value for r in Role])
async def test_node_reads_over_http_match_casbin(
    app: Any,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: dict[str, Any],
    role: str,
) -> None:
    village = world["village"]
    username = f"user_{role}"
    await grant(sessionmaker, username, role, village.id)
    # Saved, so that roles limited to saved queries (reporting tools) may send it too.
    async with system_context(settings) as context:
        saving = saved_queries.SaveInput(name="node", document=NODE, description="", roles=[role])
        assert (await saved_queries.save(context, graphql_schema(), saving)).value is not None
    enforcer = _reference(role, village.path)
    headers = {"authorization": f"Bearer {token_for(settings, username)}"}
    kinds: dict[str, tuple[str, str]] = {
        "Visit": ("visit", Obj.VISIT.value),
        "Meeting": ("meeting", Obj.MEETING.value),
    }
    kinds |= {
        f"LedgerItem:{ledger.value}": (ledger.value, ledger_object(ledger.value))
        for ledger in Ledger
    }
    wrong = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as http:
        for type_key, (row_key, obj) in kinds.items():
            for place in ("inside", "outside"):
                row_id = world["rows"][place][row_key]
                type_name = type_key.split(":")[0]
                body = (
                    await http.post(
                        "/graphql",
                        json={"query": NODE, "variables": {"id": global_id(type_name, row_id)}},
                    )
                ).json()
                seen = body["data"]["node"] is not None
                expected = enforcer.enforce("u", world["paths"][place], obj, "read")
                if seen != expected:
                    wrong.append(f"{type_key} {place}: api={seen} casbin={expected}")
    assert wrong == []
