"""Administration: users, role grants, the policy rules; the audit trail; ``me``.

Granting at an area needs the access-write right there; the policy rules are
global and need the access-write right anywhere. Every change bumps the
policy version in the same transaction, so every process notices it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import write_transaction
from db.models import AreaLevel, AuditEvent, User
from db.queries import access as access_queries
from db.queries.pagination import Page
from policies.authorizer import Decision, Rule, rule_problems
from policies.permissions import LEDGER_KINDS, Act, Obj, Role, ledger_object
from policies.store import PolicyStore
from resolvers import checks, references
from resolvers.access import Access, Grant
from resolvers.context import Context
from resolvers.credentials import new_api_key, principal_of
from resolvers.errors import ArgumentError, ErrorCode, InputError
from resolvers.pagination import page_request
from resolvers.writes import Outcome, Rejected

# What an action may name: a concrete object, never a pattern ("ledger.*", "ledger.x").
OBJECTS = frozenset(o.value for o in Obj) | frozenset(ledger_object(k) for k in LEDGER_KINDS)
ACTIONS = tuple(a.value for a in Act)


def _denied() -> Rejected:
    return Rejected(InputError(ErrorCode.NOT_ALLOWED_HERE, "access", "you may not manage access"))


def parse_action(action: str) -> tuple[str, Act] | None:
    """``visit.write`` → (``visit``, WRITE); ``ledger.stability.read`` likewise."""
    obj, _, act = action.rpartition(".")
    if obj not in OBJECTS or act not in ACTIONS:
        return None
    return obj, Act(act)


async def can(context: Context, *, action: str, area_id: int | None) -> bool:
    parsed = parse_action(action)
    if parsed is None:
        return False
    obj, act = parsed
    if area_id is None:
        return context.access.can(obj, act, None)
    area = await context.loaders.area_by_id.load(area_id)
    return area is not None and context.access.can(obj, act, area.path)


async def _audited(
    context: Context, session: AsyncSession, action: str, object_type: str, object_id: int | None
) -> None:
    await access_queries.record_audit(
        session=session,
        user_id=context.access.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        rows=1,
        request_id=context.request_id,
    )


async def create_user(
    context: Context, *, username: str, display_name: str, cadre_id: int | None
) -> Outcome[User]:
    managed = context.access.scope(Obj.ACCESS, Act.WRITE)
    if managed.empty:
        return Outcome(errors=_denied().errors)
    errors = checks.text("username", username, max_length=64, required=True)
    errors += checks.text("displayName", display_name, max_length=100)
    if errors:
        return Outcome(errors=tuple(errors))
    try:
        async with write_transaction(context.sessionmaker) as session:
            if cadre_id is not None:
                # A cadre whose home lies where the administrator manages access; any
                # other answers like one that does not exist.
                cadre = await references.cadre(session, "cadreId", cadre_id, managed, None)
                if isinstance(cadre, InputError):
                    return Outcome(errors=(cadre,))
            user = await access_queries.create_user(
                session=session, username=username, display_name=display_name, cadre_id=cadre_id
            )
            await _audited(context, session, "createUser", "user", user.id)
    except IntegrityError:
        error = InputError(ErrorCode.NOT_ALLOWED_HERE, "username", "that username is taken")
        return Outcome(errors=(error,))
    return Outcome(value=user)


@dataclasses.dataclass(frozen=True)
class GrantInput:
    username: str
    role: str
    area_id: int | None
    department_id: int | None
    revoke: bool = False


async def change_grant(context: Context, data: GrantInput) -> Outcome[bool]:
    """Grant (or revoke) a role at an area the administrator manages."""
    if data.role not in {r.value for r in Role}:
        return Outcome(errors=(InputError(ErrorCode.OUT_OF_RANGE, "role", "unknown role"),))
    access = context.access
    managed = access.scope(Obj.ACCESS, Act.WRITE)
    if managed.empty:
        return Outcome(errors=_denied().errors)
    try:
        async with write_transaction(context.sessionmaker) as session:
            area = await references.area(
                session, "areaId", data.area_id, frozenset(AreaLevel), managed
            )
            if isinstance(area, InputError):
                raise Rejected(area)
            user = await access_queries.get_user(session=session, username=data.username)
            if user is None:
                raise Rejected(InputError(ErrorCode.OUT_OF_RANGE, "username", "no such user"))
            if data.revoke:
                removed = await access_queries.revoke(
                    session=session, user_id=user.id, role=data.role, area_id=area.id
                )
                await _audited(context, session, "revokeRole", "role_assignment", user.id)
                return Outcome(value=removed > 0)
            if data.department_id is not None:
                department = await references.department(
                    session, "departmentId", data.department_id, access.scope(Obj.AREA)
                )
                if isinstance(department, InputError):
                    raise Rejected(department)
            assignment = await access_queries.grant(
                session=session,
                user_id=user.id,
                role=data.role,
                area_id=area.id,
                department_id=data.department_id,
            )
            await _audited(context, session, "grantRole", "role_assignment", assignment.id)
    except Rejected as rejected:
        return Outcome(errors=rejected.errors)
    except IntegrityError:
        return Outcome(value=False)  # already granted: nothing changed
    return Outcome(value=True)


async def set_rule(
    context: Context, *, role: str, obj: str, act: str, eft: str | None
) -> Outcome[bool]:
    """Set (or with ``eft`` None remove) one line of the role matrix."""
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        return Outcome(errors=_denied().errors)
    errors = [
        InputError(ErrorCode.OUT_OF_RANGE, field, rule)
        for field, rule in rule_problems(role, obj, act, eft)
    ]
    if errors:
        return Outcome(errors=tuple(errors))
    async with write_transaction(context.sessionmaker) as session:
        if eft is None:
            changed = (
                await access_queries.remove_rule(session=session, role=role, obj=obj, act=act) > 0
            )
        else:
            await access_queries.set_rule(session=session, role=role, obj=obj, act=act, eft=eft)
            changed = True
        await _audited(context, session, "setPolicyRule", "policy_rule", None)
    return Outcome(value=changed)


@dataclasses.dataclass(frozen=True)
class Explanation:
    allowed: bool
    lines: list[tuple[Grant, Decision, tuple[str, ...]]]


async def explain(context: Context, *, username: str, action: str, area_id: int) -> Explanation:
    """Why ``username`` may or may not do ``action`` at the area: the grants and lines."""
    if context.access.scope(Obj.ACCESS, Act.READ).empty:
        raise ArgumentError("you may not read access")
    parsed = parse_action(action)
    if parsed is None:
        raise ArgumentError(f"unknown action {action!r}: write e.g. visit.write")
    area = await context.loaders.area_by_id.load(area_id)
    if area is None or not context.access.scope(Obj.ACCESS, Act.READ).admits(area.path):
        raise ArgumentError("no such area")
    async with context.reading() as session:
        principal = await principal_of(session, username)
    if principal is None:
        raise ArgumentError("no such user")
    theirs = Access(principal, context.access.authorizer)
    obj, act = parsed
    return Explanation(
        allowed=theirs.can(obj, act, area.path), lines=theirs.explain(obj, act, area.path)
    )


def _in_utc(name: str, moment: dt.datetime | None) -> dt.datetime | None:
    """``moment`` in UTC; refused when that falls outside the calendar (year 1–9999)."""
    if moment is None:
        return None
    try:
        return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except OverflowError as error:
        raise ArgumentError(f"`{name}` is outside the years 1–9999 in UTC") from error


async def audit_page(
    context: Context,
    *,
    username: str | None,
    action: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    first: int | None,
    after: str | None,
) -> Page[AuditEvent]:
    if context.access.scope(Obj.AUDIT, Act.READ).empty:
        raise ArgumentError("you may not read the audit trail")
    request = page_request(context, first=first, after=after)
    since, until = _in_utc("since", since), _in_utc("until", until)
    async with context.reading() as session:
        user_id = None
        if username is not None:
            user = await access_queries.get_user(session=session, username=username)
            user_id = user.id if user else -1
        return await access_queries.page_audit(
            session=session,
            user_id=user_id,
            action=action,
            since=since,
            until=until,
            after=request.after,
            limit=request.limit,
        )


async def create_api_key(context: Context, *, username: str, name: str) -> Outcome[str]:
    """A new API key for ``username``; the key itself is returned once and never stored."""
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        return Outcome(errors=_denied().errors)
    new = new_api_key()
    async with write_transaction(context.sessionmaker) as session:
        user = await access_queries.get_user(session=session, username=username)
        if user is None:
            return Outcome(errors=(InputError(ErrorCode.OUT_OF_RANGE, "username", "no such user"),))
        key = await access_queries.create_api_key(
            session=session,
            user_id=user.id,
            name=name,
            prefix=new.prefix,
            secret_hash=new.secret_hash,
        )
        await _audited(context, session, "createApiKey", "api_key", key.id)
    return Outcome(value=new.key)


async def revoke_api_key(context: Context, *, prefix: str) -> Outcome[bool]:
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        return Outcome(errors=_denied().errors)
    async with write_transaction(context.sessionmaker) as session:
        revoked = await access_queries.revoke_api_key(
            session=session, prefix=prefix, at=dt.datetime.now(dt.UTC)
        )
        await _audited(context, session, "revokeApiKey", "api_key", None)
    return Outcome(value=revoked > 0)


async def load_rules(context: Context, rules: list[Rule], *, only_if_empty: bool) -> int:
    """Replace the role matrix with ``rules`` (or fill an empty one); returns lines loaded."""
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        raise ArgumentError("you may not manage access")
    async with write_transaction(context.sessionmaker) as session:
        if only_if_empty and await access_queries.count_rules(session=session):
            return 0
        await access_queries.replace_rules(
            session=session, rules=[(r.role, r.obj, r.act, r.eft) for r in rules]
        )
        await _audited(context, session, "loadPolicy", "policy_rule", None)
    return len(rules)


async def list_rules(context: Context) -> list[Rule]:
    async with context.reading() as session:
        rows = await access_queries.list_rules(session=session)
    return [Rule(r.role, r.obj, r.act, r.eft) for r in rows]


async def rules_in_force(session: AsyncSession) -> list[Rule]:
    """The role matrix the database holds (``policies.store.PolicyStore`` builds on it)."""
    return [
        Rule(r.role, r.obj, r.act, r.eft) for r in await access_queries.list_rules(session=session)
    ]


async def policy_version(session: AsyncSession) -> int:
    """The policy version the database holds now (one indexed read)."""
    return await access_queries.policy_version(session=session)


def policy_store() -> PolicyStore[AsyncSession]:
    """The process's policy store, reading the rules and version from the database."""
    return PolicyStore(rules=rules_in_force, version=policy_version)
