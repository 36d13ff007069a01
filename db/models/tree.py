"""The administrative tree and who lives and works in it: areas, households, departments, cadres."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import AreaLevel, Base, CadreRank, DepartmentKind, PathString, enum_column


class Area(Base):
    """A node of the administrative tree.

    ``path`` is the materialised path of ancestor ids, fixed-width segments with a
    trailing separator (``/00000001/00000004/``); a subtree is the range
    ``[path, path_end(path))`` so one B-tree index serves both databases.
    """

    __tablename__ = "area"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("area.id"), index=True)
    level: Mapped[AreaLevel] = mapped_column(enum_column(AreaLevel, "area_level"))
    # National statistical division code (统计用区划代码); groups have none.
    code: Mapped[str | None] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(PathString, unique=True)
    depth: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        CheckConstraint("depth >= 0 AND depth <= 4", name="depth_range"),
        CheckConstraint("code IS NULL OR length(code) IN (6, 9, 12)", name="code_length"),
    )


class Household(Base):
    """A household (户), registered in a group; the unit that is visited."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    # House number inside the group, as the village office writes it.
    number: Mapped[str] = mapped_column(String(20))
    head_name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    id_number: Mapped[str | None] = mapped_column(String(18))
    members: Mapped[int] = mapped_column(Integer, default=1)
    address: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_household_group_number"),
        CheckConstraint("members >= 1", name="members_positive"),
    )


class Department(Base):
    """A county-level department or one of its subordinate units; beside the tree."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    # The county whose department it is: keeps data county-local.
    county_id: Mapped[int] = mapped_column(ForeignKey("area.id"), index=True)
    kind: Mapped[DepartmentKind] = mapped_column(enum_column(DepartmentKind, "department_kind"))
    name: Mapped[str] = mapped_column(String(100))

    __table_args__ = (UniqueConstraint("county_id", "name", name="uq_department_county_name"),)


class Cadre(Base):
    """A cadre (干部) who visits households: home area and/or department."""

    __tablename__ = "cadre"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    rank: Mapped[CadreRank] = mapped_column(enum_column(CadreRank, "cadre_rank"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    # Distinct households this cadre has visited (kept with cadre_tally).
    households_visited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


Index("ix_household_group_id_id", Household.group_id, Household.id)
Index("ix_cadre_area_id_id", Cadre.area_id, Cadre.id)
