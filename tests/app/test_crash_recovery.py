"""Crash recovery: `grassroots serve` SIGKILLed again and again under concurrent writes.

Eight clients send ``recordVisit`` over a real socket, each write with its own
idempotency key, and send the same request again (same key) until it is
acknowledged; a few acknowledged writes are sent once more on purpose and must
answer as replays. Meanwhile the server is killed (SIGKILL, while requests are in
flight) and restarted. Afterwards every key has exactly one visit — nothing lost,
nothing doubled — and the rollup counters and tallies equal a recount from the
base rows, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import datetime as dt
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from db import counters
from db.models import (
    Area,
    AuditEvent,
    Cadre,
    CadreRank,
    CadreTally,
    Household,
    HouseholdTally,
    IdempotencyKey,
    User,
    Visit,
)
from resolvers.visits import RECORD_VISIT as OPERATION
from tests.app.server_process import Server
from tests.conftest import token_for
from tests.helpers import TESTER, global_id, make_tree

CLIENTS = 8
WRITES_PER_CLIENT = 15
KILLS = 3
KILL_GAP = (0.7, 1.5)  # seconds between a (re)start and the next kill, at most
RESEND_EVERY = 10  # one acknowledged write in ten is sent again on purpose
RETRY_PAUSE = (0.02, 0.25)  # first pause after a failure, and the most it grows to
EXTRA_HOUSEHOLDS = 22  # in the tree's group, besides its own two households
STORM_TIMEOUT = 90.0  # the clients and the killer together; the test cannot hang
MUTATION = """
mutation ($input: RecordVisitInput!) {
  recordVisit(input: $input) {
    replayed
    visit { id notes }
    errors { __typename ... on UserError { code field message } }
  }
}
"""


@dataclasses.dataclass
class Figures:
    database: str
    clients: int = CLIENTS
    writes_sent: int = 0  # distinct keys
    requests: int = 0  # HTTP attempts, resends and retries included
    kills: int = 0
    in_flight_at_kills: list[int] = dataclasses.field(default_factory=list)
    downtimes: list[float] = dataclasses.field(default_factory=list)  # kill → healthy, s
    retries: int = 0  # attempts that failed and were sent again with the same key
    retried_writes: int = 0  # distinct keys that needed at least one retry
    committed_before_crash: int = 0  # a retry answered `replayed`: the ack had been lost
    resends: int = 0  # acknowledged writes sent again on purpose
    acknowledged: int = 0
    stored: int = 0  # visit rows afterwards
    failures: Counter[str] = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"[{self.database}] clients={self.clients} writes_sent={self.writes_sent} "
            f"requests={self.requests} kills={self.kills} "
            f"in_flight_at_kills={self.in_flight_at_kills} "
            f"downtimes={[round(d, 1) for d in self.downtimes]} retries={self.retries} "
            f"retried_writes={self.retried_writes} "
            f"committed_before_crash={self.committed_before_crash} resends={self.resends} "
            f"acknowledged={self.acknowledged} stored={self.stored} "
            f"failures={dict(self.failures)} seconds={self.seconds:.1f}"
        )


@dataclasses.dataclass
class World:
    households: list[int]
    cadres: list[int]


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    tree = await make_tree(sessionmaker)
    async with sessionmaker.begin() as session:
        session.add_all(
            Household(group_id=tree.group_id, number=f"{n:03d}", head_name=f"户主{n}")
            for n in range(2, 2 + EXTRA_HOUSEHOLDS)
        )
        session.add(Cadre(name="组长", rank=CadreRank.GROUP_HEAD, area_id=tree.group_id))
        await session.flush()
        await counters.rebuild(session)  # households are loaded, not recorded
    async with sessionmaker() as session:
        households = list(await session.scalars(select(Household.id).order_by(Household.id)))
        cadres = list(await session.scalars(select(Cadre.id).order_by(Cadre.id)))
    assert tree.household_id in households and tree.other_household_id in households
    assert tree.cadre_id in cadres and tree.other_cadre_id in cadres
    return World(households=households, cadres=cadres)


@pytest.fixture
async def server(database_url: str, world: World, tmp_path: Path) -> AsyncIterator[Server]:
    running = Server(database_url, tmp_path / "server.log")
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


class Storm:
    """The clients and the killer, and what they saw."""

    def __init__(self, server: Server, world: World, token: str, figures: Figures) -> None:
        self.server = server
        self.world = world
        self.headers = {"authorization": f"Bearer {token}"}
        self.figures = figures
        self.rng = random.Random(20140201)  # reproducible timing, not secrets
        self.total = CLIENTS * WRITES_PER_CLIENT
        self.sent: dict[str, dict[str, Any]] = {}  # key → input
        self.acked: dict[str, str] = {}  # key → the visit's global id
        self.in_flight = 0
        self.finished = 0  # clients done
        self.changed = asyncio.Condition()  # in_flight or acked changed: the killer looks
        self.problems: list[str] = []  # answers that are neither an ack nor a crash

    def values(self, client: int, n: int) -> dict[str, Any]:
        key = f"crash-c{client:02d}-w{n:03d}"
        index = client * WRITES_PER_CLIENT + n
        households, cadres = self.world.households, self.world.cadres
        return {
            "householdId": global_id("Household", households[index % len(households)]),
            "cadreId": global_id("Cadre", cadres[(client + n) % len(cadres)]),
            "visitedOn": (dt.date(2014, 2, 1) + dt.timedelta(days=n % 28)).isoformat(),
            "notes": key,  # one visit per key, recognisable in the table
            "idempotencyKey": key,
        }

    async def note(self, *, in_flight: int = 0) -> None:
        async with self.changed:
            self.in_flight += in_flight
            self.changed.notify_all()

    async def send(self, http: httpx.AsyncClient, values: dict[str, Any]) -> dict[str, Any] | None:
        """Send until acknowledged (retrying crashes); None for any other answer."""
        key, attempts = values["idempotencyKey"], 0
        while True:
            attempts += 1
            self.figures.requests += 1
            await self.note(in_flight=+1)
            try:
                response = await http.post(
                    "/graphql", json={"query": MUTATION, "variables": {"input": values}}
                )
            except httpx.TransportError as error:
                self.figures.failures[type(error).__name__] += 1
                response = None
            finally:
                await self.note(in_flight=-1)
            if response is not None and response.status_code < 500:
                break
            if response is not None:
                # A kill shows as a transport error; a 5xx is the service answering
                # badly. Retried all the same, but reported: the test fails on it.
                self.figures.failures[f"HTTP {response.status_code}"] += 1
                self.problems.append(f"{key}: HTTP {response.status_code}: {response.text[:300]}")
            self.figures.retries += 1
            if attempts == 1:
                self.figures.retried_writes += 1
            await asyncio.sleep(min(RETRY_PAUSE[0] * 2 ** (attempts - 1), RETRY_PAUSE[1]))
        body = response.json() if response.status_code == 200 else None
        payload = ((body or {}).get("data") or {}).get("recordVisit")
        if body is None or "errors" in body or not payload:
            self.problems.append(f"{key}: HTTP {response.status_code}: {response.text[:300]}")
            return None
        if payload["errors"] != [] or not payload["visit"] or not payload["visit"]["id"]:
            self.problems.append(f"{key}: not acknowledged: {payload}")
            return None
        if attempts > 1 and payload["replayed"]:
            self.figures.committed_before_crash += 1
        result: dict[str, Any] = payload
        return result

    async def client(self, number: int) -> None:
        async with httpx.AsyncClient(
            base_url=self.server.base, headers=self.headers, timeout=10.0
        ) as http:
            for n in range(WRITES_PER_CLIENT):
                values = self.values(number, n)
                key = values["idempotencyKey"]
                self.sent[key] = values
                self.figures.writes_sent += 1
                first = await self.send(http, values)
                if first is None:
                    continue
                self.acked[key] = first["visit"]["id"]
                await self.note()
                self.figures.acknowledged += 1
                if (n + number) % RESEND_EVERY == 0:
                    self.figures.resends += 1
                    again = await self.send(http, values)
                    if again is None:
                        continue
                    if again["replayed"] is not True or again["visit"] != first["visit"]:
                        self.problems.append(f"{key}: resend {again} != first {first}")
        self.finished += 1
        await self.note()

    async def killer(self) -> None:
        loop = asyncio.get_running_loop()
        for kill in range(KILLS):
            # Kill after a random pause, or sooner once this share of the writes is
            # acknowledged: every kill lands while the clients still have work.
            threshold = (kill + 1) * self.total // (KILLS + 1)

            def reached(share: int = threshold) -> bool:
                return len(self.acked) >= share

            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.rng.uniform(*KILL_GAP)), self.changed:
                    await self.changed.wait_for(reached)
            async with self.changed:  # kill with requests in flight
                await self.changed.wait_for(lambda: self.in_flight > 0 or self.finished == CLIENTS)
            self.figures.in_flight_at_kills.append(self.in_flight)
            killed = loop.time()
            await self.server.kill()
            self.figures.kills += 1
            await self.server.start()
            self.figures.downtimes.append(loop.time() - killed)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.killer())
            for number in range(CLIENTS):
                group.create_task(self.client(number))


def _visit_id(global_visit_id: str) -> int:
    type_name, _, row_id = base64.b64decode(global_visit_id).decode().partition(":")
    assert type_name == "Visit", global_visit_id
    return int(row_id)


async def _counter_mismatches(session: AsyncSession) -> list[str]:
    """Kept counters against a recount from the base rows, and each parent against the
    sum of its children plus what it holds itself (as tests/db/test_counters.py)."""
    kept = await counters.stored(session)
    fresh = await counters.recount(session)
    held = await counters.held(session)
    children: dict[int, list[int]] = defaultdict(list)
    for area_id, parent_id in (await session.execute(select(Area.id, Area.parent_id))).all():
        if parent_id is not None:
            children[parent_id].append(area_id)
    wrong = [
        f"counter {k}: kept {kept.get(k, 0)}, recount {fresh.get(k, 0)}"
        for k in sorted(set(kept) | set(fresh))
        if kept.get(k, 0) != fresh.get(k, 0)
    ]
    for (area_id, metric, key), value in kept.items():
        below = sum(kept.get((child, metric, key), 0) for child in children[area_id])
        if value != below + held.get((area_id, metric, key), 0):
            wrong.append(f"counter {(area_id, metric, key)}: {value} != children {below} + held")
    return wrong


async def _tally_mismatches(session: AsyncSession) -> list[str]:
    """The per-household and per-cadre tallies (which decide the distinct counters)."""
    per_household = select(Visit.household_id, func.count()).group_by(Visit.household_id)
    visits_per_household = {h: n for h, n in (await session.execute(per_household)).all()}
    tallied = select(HouseholdTally.household_id, HouseholdTally.value).where(
        HouseholdTally.kind == "visits", HouseholdTally.value != 0
    )
    household_tally = {h: n for h, n in (await session.execute(tallied)).all()}
    per_pair = select(Visit.cadre_id, Visit.household_id, func.count()).group_by(
        Visit.cadre_id, Visit.household_id
    )
    visits_per_pair = {(c, h): n for c, h, n in (await session.execute(per_pair)).all()}
    paired = select(CadreTally.cadre_id, CadreTally.household_id, CadreTally.visits).where(
        CadreTally.visits != 0
    )
    cadre_tally = {(c, h): n for c, h, n in (await session.execute(paired)).all()}
    wrong = []
    if household_tally != visits_per_household:
        wrong.append(f"household tallies {household_tally} != visits {visits_per_household}")
    if cadre_tally != visits_per_pair:
        wrong.append(f"cadre tallies {cadre_tally} != visits {visits_per_pair}")
    return wrong


@pytest.mark.slow
async def test_acknowledged_writes_survive_kills_exactly_once(
    server: Server,
    world: World,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    figures = Figures(database="sqlite" if database_url.startswith("sqlite") else "postgres")
    storm = Storm(server, world, token_for(settings, TESTER), figures)
    started = time.monotonic()
    try:
        await asyncio.wait_for(storm.run(), timeout=STORM_TIMEOUT)
    finally:
        figures.seconds = time.monotonic() - started
        await server.stop()

    async with sessionmaker() as session:
        tester = await session.scalar(select(User.id).where(User.username == TESTER))
        visits = (await session.execute(select(Visit.id, Visit.notes))).all()
        in_key_table = select(IdempotencyKey.key, IdempotencyKey.result_id).where(
            IdempotencyKey.user_id == tester, IdempotencyKey.operation == OPERATION
        )
        keys = {key: result_id for key, result_id in (await session.execute(in_key_table)).all()}
        audited = Counter(
            (
                await session.scalars(
                    select(AuditEvent.object_id).where(AuditEvent.action == OPERATION)
                )
            ).all()
        )
        counter_errors = await _counter_mismatches(session)
        tally_errors = await _tally_mismatches(session)
    figures.stored = len(visits)
    print(f"\ncrash recovery: {figures.line()}")
    facts = figures.line()

    assert storm.problems == [], f"unexpected answers: {storm.problems[:10]}\n{facts}"
    assert figures.kills >= KILLS, facts
    assert figures.retries >= 1, f"no request had to be retried: kill harder\n{facts}"
    assert figures.writes_sent == len(storm.sent) == CLIENTS * WRITES_PER_CLIENT, facts
    assert set(storm.acked) == set(storm.sent), f"writes never acknowledged\n{facts}"

    per_key = Counter(notes for _id, notes in visits)
    lost = sorted(set(storm.sent) - set(per_key))
    doubled = sorted(key for key, n in per_key.items() if n > 1)
    strays = sorted(set(per_key) - set(storm.sent))
    assert lost == [], f"acknowledged but lost: {lost}\n{facts}"
    assert doubled == [], f"written more than once: {doubled}\n{facts}"
    assert strays == [], f"visits no client sent: {strays}\n{facts}"
    assert figures.stored == len(storm.sent), facts

    # The key table names, for each key, the very visit that was acknowledged.
    visit_of_note = {notes: visit_id for visit_id, notes in visits}
    assert set(keys) == set(storm.sent), f"idempotency keys differ from keys sent\n{facts}"
    wrong_result = {
        key: (keys[key], _visit_id(acked), visit_of_note[key])
        for key, acked in storm.acked.items()
        if not keys[key] == _visit_id(acked) == visit_of_note[key]
    }
    assert wrong_result == {}, f"key → (key table, acknowledged, stored): {wrong_result}\n{facts}"
    assert audited == Counter(visit_of_note.values()), f"one audit event per visit\n{facts}"

    assert counter_errors == [], f"{counter_errors[:20]}\n{facts}"
    assert tally_errors == [], f"{tally_errors}\n{facts}"
