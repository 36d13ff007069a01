"""The saved-query registry: versions of named documents, found by name or hash."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SavedQuery


async def latest(*, session: AsyncSession, name: str) -> SavedQuery | None:
    """The newest version of ``name``, retired or not."""
    statement = (
        select(SavedQuery)
        .where(SavedQuery.name == name)
        .order_by(SavedQuery.version.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def get_version(*, session: AsyncSession, name: str, version: int) -> SavedQuery | None:
    statement = select(SavedQuery).where(SavedQuery.name == name, SavedQuery.version == version)
    return await session.scalar(statement)


async def list_versions(*, session: AsyncSession, name: str) -> Sequence[SavedQuery]:
    """Every version of ``name``, newest first."""
    statement = (
        select(SavedQuery).where(SavedQuery.name == name).order_by(SavedQuery.version.desc())
    )
    return (await session.scalars(statement)).all()


async def list_latest(*, session: AsyncSession) -> Sequence[SavedQuery]:
    """The newest version of every name that is not retired, by name."""
    newest = (
        select(SavedQuery.name, func.max(SavedQuery.version).label("version"))
        .group_by(SavedQuery.name)
        .subquery()
    )
    statement = (
        select(SavedQuery)
        .join(
            newest,
            (SavedQuery.name == newest.c.name) & (SavedQuery.version == newest.c.version),
        )
        .where(SavedQuery.retired_at.is_(None))
        .order_by(SavedQuery.name)
    )
    return (await session.scalars(statement)).all()


async def find_by_sha256(*, session: AsyncSession, sha256: str) -> SavedQuery | None:
    """A live version with this document hash (the newest, if several names share it)."""
    statement = (
        select(SavedQuery)
        .where(SavedQuery.sha256 == sha256, SavedQuery.retired_at.is_(None))
        .order_by(SavedQuery.id.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def create(
    *,
    session: AsyncSession,
    name: str,
    version: int,
    document: str,
    sha256: str,
    description: str,
    roles: Sequence[str],
    created_by: int | None,
) -> int:
    statement = (
        insert(SavedQuery)
        .values(
            name=name,
            version=version,
            document=document,
            sha256=sha256,
            description=description,
            roles=",".join(roles),
            created_by=created_by,
        )
        .returning(SavedQuery.id)
    )
    return int((await session.execute(statement)).scalar_one())


async def set_retired(*, session: AsyncSession, name: str, at: dt.datetime | None) -> int:
    """Retire every version of ``name`` (``at``), or bring them back (None)."""
    result = await session.execute(
        update(SavedQuery).where(SavedQuery.name == name).values(retired_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
