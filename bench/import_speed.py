"""How fast a village ledger sheet of N rows imports, end to end through GraphQL.

    .venv/bin/python -m bench.import_speed [--rows 10000] [--database sqlite|postgres|URL]

Loads the demo county into a fresh database, writes an N-row XLSX for one of
its villages (every row valid), and times ``importLedger`` over the in-process
ASGI app: base64 decode, XLSX parse, checks, and the bulk insert in one
transaction. Prints seconds and rows per second.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import time
from collections import Counter

import httpx
from sqlalchemy import func, select

from app.auth import mint_token
from app.main import create_app
from app.settings import Settings
from bench.common import fresh_database
from db.engine import create_engine, create_sessionmaker, write_transaction
from db.ledgers import CATALOG, HARDSHIP_REASONS, Ledger
from db.models import Area, AreaLevel, Cadre, Household, LedgerItem
from db.queries import access as access_queries
from db.seed.demo import seed_demo
from policies.authorizer import shipped_rules
from resolvers.ledgers.sheets import COLUMNS, write_xlsx

IMPORT = """
mutation ($i: ImportLedgerInput!) { importLedger(input: $i) {
  imported rowErrors { row column message } errors { __typename }
} }
"""


async def build_sheet(url: str, rows: int) -> tuple[bytes, int]:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
        await access_queries.replace_rules(
            session=session, rules=[(r.role, r.obj, r.act, r.eft) for r in shipped_rules()]
        )
        user = await access_queries.create_user(
            session=session, username="importer", display_name="", cadre_id=None
        )
        county = await session.scalar(select(Area).where(Area.parent_id.is_(None)))
        assert county is not None
        await access_queries.grant(
            session=session,
            user_id=user.id,
            role="county_leader",
            area_id=county.id,
            department_id=None,
        )
    async with sessionmaker() as session:
        village = (
            await session.scalars(
                select(Area).where(Area.level == AreaLevel.VILLAGE).order_by(Area.path).limit(1)
            )
        ).one()
        groups = (await session.scalars(select(Area).where(Area.parent_id == village.id))).all()
        homes = (
            await session.execute(
                select(Household.number, Area.name)
                .join(Area, Area.id == Household.group_id)
                .where(Area.parent_id == village.id)
            )
        ).all()
        names = Counter((await session.scalars(select(Cadre.name))).all())
    await engine.dispose()
    unique_names = sorted(name for name, n in names.items() if n == 1)
    rng = random.Random(10_000)
    livelihood = list(CATALOG[Ledger.LIVELIHOOD].categories)
    sheet = []
    for n in range(rows):
        number, group = rng.choice(homes)
        hardship = n % 3 == 0
        values = {
            "ledger": "hardship" if hardship else "livelihood",
            "category": "" if hardship else rng.choice(livelihood),
            "reasons": rng.choice(list(HARDSHIP_REASONS)) if hardship else "",
            "area_code": village.code,
            "group": group if hardship or n % 2 else rng.choice(groups).name,
            "household": number if hardship else "",
            "title": f"第{n}项",
            "received_on": f"2014-0{1 + n % 6}-{1 + n % 28:02d}",
            "received_by": rng.choice(unique_names),
        }
        sheet.append([values.get(column.key, "") for column in COLUMNS])
    return write_xlsx(sheet), village.id


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    url = await fresh_database(args.database)
    content, village_id = await build_sheet(url, args.rows)
    settings = Settings(database_url=url)
    app = create_app(settings)
    token = mint_token(settings.auth_config(), "importer")
    village = base64.b64encode(f"Area:{village_id}".encode()).decode()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://bench",
            headers={"authorization": f"Bearer {token}"},
        ) as client:
            started = time.perf_counter()
            response = await client.post(
                "/graphql",
                json={
                    "query": IMPORT,
                    "variables": {
                        "i": {
                            "villageId": village,
                            "fileName": "bench.xlsx",
                            "content": base64.b64encode(content).decode(),
                            "idempotencyKey": f"bench-{time.time_ns()}",
                        }
                    },
                },
                timeout=600,
            )
            elapsed = time.perf_counter() - started
    result = response.json()["data"]["importLedger"]
    assert not result["rowErrors"] and not result["errors"], result
    engine = create_engine(url)
    async with create_sessionmaker(engine)() as session:
        stored = await session.scalar(select(func.count()).select_from(LedgerItem))
    await engine.dispose()
    assert stored == args.rows, (stored, args.rows)
    dialect = url.split("+", 1)[0]
    print(
        f"{dialect}: imported {result['imported']} rows ({len(content) / 1e6:.2f} MB XLSX) "
        f"in {elapsed:.2f} s = {args.rows / elapsed:,.0f} rows/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
