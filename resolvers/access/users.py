"""Users, and what a user may do where: ``me``'s checks and administrators' explanations."""

from __future__ import annotations

import dataclasses

from sqlalchemy.exc import IntegrityError

from db.engine import write_transaction
from db.models import User
from db.queries import access as access_queries
from policies.authorizer import Decision
from policies.permissions import Act, Obj
from resolvers.access.core import audited, denied
from resolvers.access.rules import parse_action
from resolvers.common import checks, references
from resolvers.common.access import Access, Grant
from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError, ErrorCode, InputError
from resolvers.common.writes import Outcome
from resolvers.credentials import principal_of


async def create_user(
    context: Context, *, username: str, display_name: str, cadre_id: int | None
) -> Outcome[User]:
    managed = context.access.scope(Obj.ACCESS, Act.WRITE)
    if managed.empty:
        return Outcome(errors=denied().errors)
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
            await audited(context, session, "createUser", "user", user.id)
    except IntegrityError:
        error = InputError(ErrorCode.NOT_ALLOWED_HERE, "username", "that username is taken")
        return Outcome(errors=(error,))
    return Outcome(value=user)


async def can(context: Context, *, action: str, area_id: int | None) -> bool:
    parsed = parse_action(action)
    if parsed is None:
        return False
    obj, act = parsed
    if area_id is None:
        return context.access.can(obj, act, None)
    area = await context.loaders.area_by_id.load(area_id)
    return area is not None and context.access.can(obj, act, area.path)


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
