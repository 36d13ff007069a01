"""Users, API keys, role assignments, the policy rules and version, the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, event, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from db import policy_version as versions
from db.models import (
    ApiKey,
    Area,
    AuditEvent,
    PolicyRule,
    PolicyVersion,
    RoleAssignment,
    User,
)
from db.queries.pagination import Page, fetch_page


async def get_user(*, session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def get_user_by_id(*, session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def create_user(
    *, session: AsyncSession, username: str, display_name: str, cadre_id: int | None
) -> User:
    user = User(username=username, display_name=display_name, cadre_id=cadre_id, active=True)
    session.add(user)
    await session.flush()
    return user


async def list_assignments(
    *, session: AsyncSession, user_id: int
) -> Sequence[tuple[RoleAssignment, str]]:
    """The user's role assignments with the path of each one's area."""
    statement = (
        select(RoleAssignment, Area.path)
        .join(Area, Area.id == RoleAssignment.area_id)
        .where(RoleAssignment.user_id == user_id)
        .order_by(Area.path, RoleAssignment.role)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def grant(
    *,
    session: AsyncSession,
    user_id: int,
    role: str,
    area_id: int,
    department_id: int | None,
) -> RoleAssignment:
    assignment = RoleAssignment(
        user_id=user_id, role=role, area_id=area_id, department_id=department_id
    )
    session.add(assignment)
    await session.flush()
    await bump_version(session=session)
    return assignment


async def revoke(*, session: AsyncSession, user_id: int, role: str, area_id: int) -> int:
    result = await session.execute(
        delete(RoleAssignment).where(
            RoleAssignment.user_id == user_id,
            RoleAssignment.role == role,
            RoleAssignment.area_id == area_id,
        )
    )
    await bump_version(session=session)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def create_api_key(
    *, session: AsyncSession, user_id: int, name: str, prefix: str, secret_hash: str
) -> ApiKey:
    key = ApiKey(user_id=user_id, name=name, prefix=prefix, secret_hash=secret_hash)
    session.add(key)
    await session.flush()
    return key


async def get_api_key(*, session: AsyncSession, prefix: str) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


async def revoke_api_key(*, session: AsyncSession, prefix: str, at: dt.datetime) -> int:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    await bump_version(session=session)  # cached principals of the key must go
    return int(result.rowcount)  # type: ignore[attr-defined]


async def policy_version(*, session: AsyncSession) -> int:
    return await session.scalar(select(PolicyVersion.version).where(PolicyVersion.id == 1)) or 0


BUMPED = "grassroots_policy_version_bumped"  # session.info: (url, version) until commit


async def bump_version(*, session: AsyncSession) -> int:
    """Every policy or assignment change, in its own transaction: processes reload.

    The row's trigger notifies the listening processes when the transaction
    commits (PostgreSQL); this process's own watches move at once (see
    ``db.policy_version``). Returns the new version.
    """
    version = await session.scalar(
        update(PolicyVersion)
        .where(PolicyVersion.id == 1)
        .values(version=PolicyVersion.version + 1)
        .returning(PolicyVersion.version)
    )
    if version is not None:
        session.info[BUMPED] = (session.get_bind().engine.url, version)
    return version or 0


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    bumped = session.info.pop(BUMPED, None)
    if bumped is not None:
        versions.note_commit(*bumped)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back (a commit has taken it already)
        session.info.pop(BUMPED, None)


async def list_rules(*, session: AsyncSession) -> Sequence[PolicyRule]:
    statement = select(PolicyRule).order_by(PolicyRule.role, PolicyRule.obj, PolicyRule.act)
    return (await session.scalars(statement)).all()


async def count_rules(*, session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(PolicyRule)) or 0


async def replace_rules(
    *, session: AsyncSession, rules: Sequence[tuple[str, str, str, str]]
) -> None:
    await session.execute(delete(PolicyRule))
    if rules:
        await session.execute(
            insert(PolicyRule),
            [{"role": r, "obj": o, "act": a, "eft": e} for r, o, a, e in rules],
        )
    await bump_version(session=session)


async def set_rule(*, session: AsyncSession, role: str, obj: str, act: str, eft: str) -> None:
    existing = await session.scalar(
        select(PolicyRule).where(
            PolicyRule.role == role, PolicyRule.obj == obj, PolicyRule.act == act
        )
    )
    if existing is None:
        session.add(PolicyRule(role=role, obj=obj, act=act, eft=eft))
    else:
        existing.eft = eft
    await session.flush()
    await bump_version(session=session)


async def remove_rule(*, session: AsyncSession, role: str, obj: str, act: str) -> int:
    result = await session.execute(
        delete(PolicyRule).where(
            PolicyRule.role == role, PolicyRule.obj == obj, PolicyRule.act == act
        )
    )
    await bump_version(session=session)
    return int(result.rowcount)  # type: ignore[attr-defined]


async def record_audit(
    *,
    session: AsyncSession,
    user_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None = None,
    scope: str = "",
    rows: int = 0,
    request_id: str = "",
) -> None:
    await session.execute(
        insert(AuditEvent).values(
            user_id=user_id or None,  # 0: the service itself
            action=action,
            object_type=object_type,
            object_id=object_id,
            scope=scope,
            rows=rows,
            request_id=request_id,
        )
    )


async def record_audits(
    *,
    session: AsyncSession,
    user_id: int | None,
    request_id: str,
    reads: Sequence[tuple[str, int, str]],
) -> None:
    """Restricted reads of one request: (action, rows, scope) each, in one statement.

    On PostgreSQL the transaction commits without waiting for its WAL flush
    (``synchronous_commit = off``): a read must not pay a disk flush for its
    audit line. The line is lost only if the database server itself crashes
    within that window (a few hundred ms); writes keep full durability.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL synchronous_commit = off"))
    await session.execute(
        insert(AuditEvent),
        [
            {
                "user_id": user_id or None,
                "action": action,
                "object_type": "ledger_item",
                "object_id": None,
                "scope": scope,
                "rows": rows,
                "request_id": request_id,
            }
            for action, rows, scope in reads
        ],
    )


async def page_audit(
    *,
    session: AsyncSession,
    user_id: int | None,
    action: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    after: int | None,
    limit: int,
) -> Page[AuditEvent]:
    statement = select(AuditEvent)
    if user_id is not None:
        statement = statement.where(AuditEvent.user_id == user_id)
    if action is not None:
        statement = statement.where(AuditEvent.action == action)
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if until is not None:
        statement = statement.where(AuditEvent.at < until)
    return await fetch_page(
        session=session, statement=statement, key=AuditEvent.id, after=after, limit=limit
    )
