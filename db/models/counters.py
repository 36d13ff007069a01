"""The per-area counters behind rollups, and the tallies that decide distinct counts."""

from __future__ import annotations

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base


class AreaCounter(Base):
    """A count kept for an area's whole subtree, updated in the transaction of each write.

    ``metric`` names what is counted; ``key`` splits it (items: ``ledger|category|
    status|department``; needy households: the reason); ``value`` is the count.
    """

    __tablename__ = "area_counter"

    area_id: Mapped[int] = mapped_column(ForeignKey("area.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True, default="")
    value: Mapped[int] = mapped_column(Integer, default=0)


class HouseholdTally(Base):
    """Per-household counts that decide distinct counters (first visit, first reason)."""

    __tablename__ = "household_tally"

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    # "visits", or "reason:<reason>" for hardship items naming that reason
    kind: Mapped[str] = mapped_column(String(48), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class CadreTally(Base):
    """How many times a cadre visited a household: decides 'households visited' per cadre."""

    __tablename__ = "cadre_tally"

    cadre_id: Mapped[int] = mapped_column(ForeignKey("cadre.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    visits: Mapped[int] = mapped_column(Integer, default=0)
