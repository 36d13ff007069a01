"""What authorization costs per request, measured.

    .venv/bin/python -m bench.authorizer_cost [--database sqlite|postgres|URL] [--requests 2000]

1. Scopes: a fresh ``Access`` per request, computing the scopes a typical
   request needs (area, household, visit, meeting, cadre, and each ledger's
   read scope) from the memoised Casbin decisions — pure CPU.
2. The door: ``authenticate`` (token check, user, role assignments) plus the
   policy-version check, against the database — what every request pays.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from app.auth import PrincipalCache, mint_token
from app.settings import Settings
from bench.common import fresh_database
from db.engine import create_engine, create_sessionmaker
from db.models import AreaLevel
from db.queries import access as access_queries
from db.queries import areas as area_queries
from policies.authorizer import Authorizer, shipped_rules
from policies.permissions import Obj
from resolvers.access import rules as access_rules
from resolvers.common.access import Access


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    url = await fresh_database(args.database)
    settings = Settings(database_url=url)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        await access_queries.replace_rules(
            session=session, rules=[(r.role, r.obj, r.act, r.eft) for r in shipped_rules()]
        )
        county = await area_queries.create(
            session=session, parent=None, level=AreaLevel.COUNTY, name="县"
        )
        township = await area_queries.create(
            session=session, parent=county, level=AreaLevel.TOWNSHIP, name="镇"
        )
        user = await access_queries.create_user(
            session=session, username="bench", display_name="", cadre_id=None
        )
        for role, area in (("township_leader", township), ("village_cadre", township)):
            await access_queries.grant(
                session=session, user_id=user.id, role=role, area_id=area.id, department_id=None
            )
    config = settings.auth_config()
    token = mint_token(config, "bench")
    store = access_rules.policy_store()
    principals = PrincipalCache()

    door: list[float] = []
    scopes: list[float] = []
    for _ in range(args.requests):
        started = time.perf_counter()
        async with sessionmaker() as session:
            authorizer = await store.current(session)
            principal = await principals.principal(session, config, token, authorizer.version)
        door.append(time.perf_counter() - started)
        started = time.perf_counter()
        access = Access(principal, authorizer)
        for obj in (Obj.AREA, Obj.HOUSEHOLD, Obj.VISIT, Obj.MEETING, Obj.CADRE):
            access.scope(obj)
        access.ledger_scopes()
        scopes.append(time.perf_counter() - started)
    cold = Authorizer(shipped_rules())
    started = time.perf_counter()
    Access(principal, cold).ledger_scopes()
    first = time.perf_counter() - started
    await engine.dispose()

    def ms(values: list[float], q: float) -> str:
        return f"{statistics.quantiles(values, n=100)[int(q) - 1] * 1000:.3f} ms"

    dialect = url.split("+", 1)[0]
    print(f"{dialect}, {args.requests} requests, a user with 2 grants, 132 policy lines:")
    print(f"  scopes per request (13 objects): p50 {ms(scopes, 50)}, p99 {ms(scopes, 99)}")
    print(f"  policy version + principal:      p50 {ms(door, 50)}, p99 {ms(door, 99)}")
    print(f"  first request after a policy change (cold decisions): {first * 1000:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
