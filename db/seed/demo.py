"""The demo county: small, deterministic, invented names, loaded in one transaction.

Qingshan County (青山县, invented code 519901): three townships, each with three
villages and one community of four groups; about 500 households, a few dozen
cadres, a few hundred visits. The same seed always gives the same rows, and
loading it twice changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import counters
from db.models import (
    Area,
    AreaLevel,
    Cadre,
    CadreRank,
    Department,
    DepartmentKind,
    Household,
    Visit,
    VisitKind,
)
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE

COUNTY_CODE = "519901"
COUNTY_NAME = "青山县"
TOWNSHIPS = ["石桥镇", "河坝镇", "龙门镇"]
PLACES = [
    "红星",
    "太平",
    "青龙",
    "白鹤",
    "新民",
    "永安",
    "金山",
    "双河",
    "三合",
    "柏树",
    "桂花",
    "梨园",
]
COMMUNITIES = ["滨江", "文昌", "南华"]
GROUP_NAMES = ["一组", "二组", "三组", "四组"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
GIVEN = "国华建军明秀英芳志强文玉兰平红梅德福春燕海涛金凤永贵"
DEPARTMENTS = [
    ("县委办公室", DepartmentKind.LEADING_ORGAN),
    ("县公安局", DepartmentKind.LAW_ENFORCEMENT),
    ("县政务服务中心", DepartmentKind.SERVICE_WINDOW),
    ("县人民医院", DepartmentKind.SERVICE_INDUSTRY),
]
NOTES = ["家中一切正常", "反映饮水不便", "询问医保报销", "道路需要维修", "子女外出务工", ""]
FIRST_VISIT_DAY = dt.date(2014, 1, 6)
SEED = 20140106


@dataclasses.dataclass(frozen=True)
class SeedReport:
    created: bool
    areas: int
    households: int
    cadres: int
    visits: int


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


async def seed_demo(session: AsyncSession) -> SeedReport:
    """Load the demo county unless it is there; call inside one transaction."""
    if await area_queries.get_by_code(session=session, code=COUNTY_CODE, scope=EVERYWHERE) is None:
        await _load(session, random.Random(SEED))
        await counters.rebuild(session)
        created = True
    else:
        created = False
    return SeedReport(created=created, **await _counts(session))


async def _counts(session: AsyncSession) -> dict[str, int]:
    county = await area_queries.get_by_code(session=session, code=COUNTY_CODE, scope=EVERYWHERE)
    assert county is not None
    in_county = area_queries.in_subtree(county.path)
    area_ids = select(Area.id).where(in_county)
    households = select(Household.id).where(Household.group_id.in_(area_ids))
    count = func.count()
    return {
        "areas": await session.scalar(select(count).select_from(Area).where(in_county)) or 0,
        "households": await session.scalar(
            select(count).select_from(Household).where(Household.group_id.in_(area_ids))
        )
        or 0,
        "cadres": await session.scalar(
            select(count).select_from(Cadre).where(Cadre.area_id.in_(area_ids))
        )
        or 0,
        "visits": await session.scalar(
            select(count).select_from(Visit).where(Visit.household_id.in_(households))
        )
        or 0,
    }


async def _load(session: AsyncSession, rng: random.Random) -> None:
    county = await area_queries.create(
        session=session, parent=None, level=AreaLevel.COUNTY, name=COUNTY_NAME, code=COUNTY_CODE
    )
    departments = []
    for name, kind in DEPARTMENTS:
        department = Department(county_id=county.id, kind=kind, name=name)
        session.add(department)
        departments.append(department)
    await session.flush()

    cadres: list[dict[str, object]] = [
        {"name": _person(rng), "rank": CadreRank.COUNTY_LEADER, "area_id": county.id}
        for _ in range(2)
    ]
    for department in departments:
        cadres += [
            {
                "name": _person(rng),
                "rank": CadreRank.AGENCY,
                "area_id": county.id,
                "department_id": department.id,
            }
            for _ in range(2)
        ]
    households: list[dict[str, object]] = []
    places = iter(PLACES)
    for t, township_name in enumerate(TOWNSHIPS, start=1):
        township = await area_queries.create(
            session=session,
            parent=county,
            level=AreaLevel.TOWNSHIP,
            name=township_name,
            code=f"{COUNTY_CODE}{100 + t:03d}",
        )
        cadres.append({"name": _person(rng), "rank": CadreRank.TOWNSHIP, "area_id": township.id})
        cadres.append({"name": _person(rng), "rank": CadreRank.TOWNSHIP, "area_id": township.id})
        for v in range(1, 5):
            is_community = v == 4
            village = await area_queries.create(
                session=session,
                parent=township,
                level=AreaLevel.COMMUNITY if is_community else AreaLevel.VILLAGE,
                name=f"{COMMUNITIES[t - 1]}社区" if is_community else f"{next(places)}村",
                code=f"{township.code}{v:03d}",
            )
            cadres.append({"name": _person(rng), "rank": CadreRank.VILLAGE, "area_id": village.id})
            for group_name in GROUP_NAMES:
                group = await area_queries.create(
                    session=session, parent=village, level=AreaLevel.GROUP, name=group_name
                )
                if v == 1:  # group heads (社长) of each township's first village
                    cadres.append(
                        {"name": _person(rng), "rank": CadreRank.GROUP_HEAD, "area_id": group.id}
                    )
                for number in range(1, rng.randint(8, 13) + 1):
                    households.append(
                        {
                            "group_id": group.id,
                            "number": f"{number:03d}",
                            "head_name": _person(rng),
                            "phone": f"13{rng.randint(0, 999_999_999):09d}",
                            "id_number": f"{COUNTY_CODE}19{rng.randint(40, 99)}"
                            f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
                            f"{rng.randint(0, 9999):04d}",
                            "members": rng.randint(1, 6),
                            "address": f"{township_name}{village.name}{group_name}{number}号",
                        }
                    )

    await session.execute(insert(Household), households)
    await session.execute(insert(Cadre), cadres)
    await _visits(session, rng, county)


async def _visits(session: AsyncSession, rng: random.Random, county: Area) -> None:
    in_county = select(Area.id).where(area_queries.in_subtree(county.path))
    household_ids = (
        await session.scalars(
            select(Household.id).where(Household.group_id.in_(in_county)).order_by(Household.id)
        )
    ).all()
    cadre_ids = (
        await session.scalars(
            select(Cadre.id).where(Cadre.area_id.in_(in_county)).order_by(Cadre.id)
        )
    ).all()
    visits: list[dict[str, object]] = [
        {
            "cadre_id": rng.choice(cadre_ids),
            "household_id": household_id,
            "visited_on": FIRST_VISIT_DAY + dt.timedelta(days=rng.randint(0, 40)),
            "notes": rng.choice(NOTES),
            "kind": VisitKind.ROUTINE,
            "condolence_fen": None,
            "people_visited": None,
        }
        for household_id in household_ids
        if rng.random() < 0.6
        for _ in range(rng.randint(1, 2))
    ]
    # Spring Festival condolence visits (春节慰问) to about one household in eight.
    visits += [
        {
            "cadre_id": rng.choice(cadre_ids),
            "household_id": household_id,
            "visited_on": dt.date(2014, 1, 20) + dt.timedelta(days=rng.randint(0, 10)),
            "notes": "春节慰问",
            "kind": VisitKind.CONDOLENCE,
            "condolence_fen": rng.choice([200, 300, 500, 800]) * 100,
            "people_visited": rng.randint(1, 5),
        }
        for household_id in household_ids
        if rng.random() < 0.125
    ]
    await session.execute(insert(Visit), visits)
