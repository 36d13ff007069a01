"""Role grants at areas (a grant holds for the whole subtree)."""

from __future__ import annotations

import dataclasses

from sqlalchemy.exc import IntegrityError

from db.engine import write_transaction
from db.models import AreaLevel
from db.queries import access as access_queries
from policies.permissions import Act, Obj, Role
from resolvers.access.core import audited, denied
from resolvers.common import references
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.writes import Outcome, Rejected


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
        return Outcome(errors=denied().errors)
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
                await audited(context, session, "revokeRole", "role_assignment", user.id)
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
            await audited(context, session, "grantRole", "role_assignment", assignment.id)
    except Rejected as rejected:
        return Outcome(errors=rejected.errors)
    except IntegrityError:
        return Outcome(value=False)  # already granted: nothing changed
    return Outcome(value=True)
