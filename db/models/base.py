"""The declarative base, constraint naming, and the enums the tables share."""

from __future__ import annotations

import enum

from sqlalchemy import (
    Enum,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations can refer to them on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Materialised paths are compared as byte strings (range scans on a B-tree):
# PostgreSQL needs the "C" collation for that; SQLite's default BINARY already is.
PathString = String(255).with_variant(String(255, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AreaLevel(enum.StrEnum):
    """Levels of the administrative tree (行政区划)."""

    COUNTY = "county"  # 县
    TOWNSHIP = "township"  # 镇 / 乡 / 街道
    VILLAGE = "village"  # 村
    COMMUNITY = "community"  # 社区 (urban; same level as a village)
    GROUP = "group"  # 组 / 社


class DepartmentKind(enum.StrEnum):
    """The report's four kinds of county-level department (县级部门)."""

    LEADING_ORGAN = "leading_organ"  # 领导机关
    LAW_ENFORCEMENT = "law_enforcement"  # 执法监管部门
    SERVICE_WINDOW = "service_window"  # 窗口单位
    SERVICE_INDUSTRY = "service_industry"  # 服务行业


class CadreRank(enum.StrEnum):
    """What kind of cadre someone is; decides where they work, not what they may see."""

    COUNTY_LEADER = "county_leader"  # 县级领导
    AGENCY = "agency"  # 机关事业单位干部
    TOWNSHIP = "township"  # 镇干部
    VILLAGE = "village"  # 村两委
    GROUP_HEAD = "group_head"  # 社长


def enum_column(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as short strings with a CHECK constraint: portable, and a new member
    # is a one-line migration instead of an ALTER TYPE.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )
