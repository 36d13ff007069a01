"""Access in the API: ``me``, explanations and the audit trail; administration."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.relay import Connection, GlobalID

from db.rows import models
from resolvers.access import audit as access_audit
from resolvers.access import grants as access_grants
from resolvers.access import rules as access_rules
from resolvers.access import users as access_users
from resolvers.common.access import Grant
from schema.errors import UserError, from_input_errors
from schema.relay import connection, decode_id, no_lookup
from schema.types import Area, Info


@strawberry.type(description="A role you hold at an area (and its whole subtree).")
class RoleGrant:
    role: str
    department_id: strawberry.ID | None
    _grant: strawberry.Private[Grant]

    @classmethod
    def of(cls, grant: Grant) -> RoleGrant:
        department = (
            None
            if grant.department_id is None
            else strawberry.ID(_global("Department", grant.department_id))
        )
        return cls(role=grant.role, department_id=department, _grant=grant)

    @strawberry.field
    async def area(self, info: Info) -> Area | None:
        row = await info.context.loaders.area_by_id.load(self._grant.area_id)
        return Area.from_row(row) if row else None


def _global(type_name: str, row_id: int) -> str:
    return str(GlobalID(type_name, str(row_id)))


@strawberry.type(description="Who you are and what you may do, for front ends.")
class Me:
    username: str
    roles: list[RoleGrant]

    @strawberry.field(
        description="Whether you may do `action` (e.g. `visit.write`, `ledger.hardship.read`) "
        "at `area`, or anywhere when no area is given."
    )
    async def can(self, info: Info, action: str, area: strawberry.ID | None = None) -> bool:
        area_id = None
        if area is not None:
            area_id = decode_id(area, "Area")
            if area_id is None:
                return False
        return await access_users.can(info.context, action=action, area_id=area_id)


@strawberry.type(description="One of a user's roles that covers the area, and what it decided.")
class AccessReason:
    role: str
    decision: str = strawberry.field(description="allow, deny, or none (no line matched)")
    policy_lines: list[str]
    _grant: strawberry.Private[Grant]

    @strawberry.field
    async def area(self, info: Info) -> Area | None:
        row = await info.context.loaders.area_by_id.load(self._grant.area_id)
        return Area.from_row(row) if row else None


@strawberry.type(description="Why a user may or may not do something at an area.")
class AccessExplanation:
    allowed: bool
    reasons: list[AccessReason]


@strawberry.type(description="One entry of the audit trail (append-only).")
class AuditEvent:
    id: int
    at: dt.datetime
    action: str
    object_type: str
    object_id: int | None
    scope: str
    rows: int
    request_id: str
    user_id: int | None

    @classmethod
    def from_row(cls, row: models.AuditEvent) -> AuditEvent:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        return cls(
            id=row.id,
            at=at,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            scope=row.scope,
            rows=row.rows,
            request_id=row.request_id,
            user_id=row.user_id,
        )


@strawberry.type
class AccessQuery:
    @strawberry.field(description="You: your roles, and what you may do where.")
    def me(self, info: Info) -> Me:
        principal = info.context.access.principal
        return Me(username=principal.username, roles=[RoleGrant.of(g) for g in principal.grants])

    @strawberry.field(
        description="Administrators: why a user may or may not do `action` at `area`."
    )
    async def explain_access(
        self, info: Info, username: str, action: str, area: strawberry.ID
    ) -> AccessExplanation:
        area_id = decode_id(area, "Area") or 0
        found = await access_users.explain(
            info.context, username=username, action=action, area_id=area_id
        )
        return AccessExplanation(
            allowed=found.allowed,
            reasons=[
                AccessReason(
                    role=grant.role, decision=decision.value, policy_lines=list(lines), _grant=grant
                )
                for grant, decision, lines in found.lines
            ],
        )

    @strawberry.field(description="Auditors: the audit trail, oldest first.")
    async def audit_events(
        self,
        info: Info,
        username: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEventNode]:
        page = await access_audit.audit_page(
            info.context,
            username=username,
            action=action,
            since=since,
            until=until,
            first=first,
            after=after,
        )
        return connection(page, AuditEventNode.from_row, lambda r: r.id)


@strawberry.type(name="AuditEntry", description="An audit trail entry, as a node of a page.")
class AuditEventNode(strawberry.relay.Node):
    id: strawberry.relay.NodeID[int]
    event: AuditEvent

    resolve_node = no_lookup()  # entries are read as pages of the trail, not by id

    @classmethod
    def from_row(cls, row: models.AuditEvent) -> AuditEventNode:
        return cls(id=row.id, event=AuditEvent.from_row(row))


@strawberry.type
class AccessChangePayload:
    changed: bool
    errors: list[UserError]


@strawberry.type
class CreateUserPayload:
    username: str | None
    errors: list[UserError]


@strawberry.type
class AccessMutations:
    @strawberry.mutation(description="Administrators: create a user (sign-in is by token or key).")
    async def create_user(
        self,
        info: Info,
        username: str,
        display_name: str = "",
        cadre_id: strawberry.ID | None = None,
    ) -> CreateUserPayload:
        outcome = await access_users.create_user(
            info.context,
            username=username,
            display_name=display_name,
            cadre_id=decode_id(cadre_id, "Cadre") if cadre_id else None,
        )
        return CreateUserPayload(
            username=outcome.value.username if outcome.value else None,
            errors=from_input_errors(outcome.errors),
        )

    @strawberry.mutation(description="Administrators: grant a role at an area you manage.")
    async def grant_role(
        self,
        info: Info,
        username: str,
        role: str,
        area: strawberry.ID,
        department: strawberry.ID | None = None,
    ) -> AccessChangePayload:
        outcome = await access_grants.change_grant(
            info.context,
            access_grants.GrantInput(
                username=username,
                role=role,
                area_id=decode_id(area, "Area"),
                department_id=decode_id(department, "Department") if department else None,
            ),
        )
        return AccessChangePayload(
            changed=bool(outcome.value), errors=from_input_errors(outcome.errors)
        )

    @strawberry.mutation(description="Administrators: revoke a role at an area you manage.")
    async def revoke_role(
        self, info: Info, username: str, role: str, area: strawberry.ID
    ) -> AccessChangePayload:
        outcome = await access_grants.change_grant(
            info.context,
            access_grants.GrantInput(
                username=username,
                role=role,
                area_id=decode_id(area, "Area"),
                department_id=None,
                revoke=True,
            ),
        )
        return AccessChangePayload(
            changed=bool(outcome.value), errors=from_input_errors(outcome.errors)
        )

    @strawberry.mutation(
        description="Administrators: set one line of the role matrix (effect allow or deny), "
        "or remove it (effect null). Takes effect in every process at once."
    )
    async def set_policy_rule(
        self, info: Info, role: str, object: str, action: str, effect: str | None
    ) -> AccessChangePayload:
        outcome = await access_rules.set_rule(
            info.context, role=role, obj=object, act=action, eft=effect
        )
        return AccessChangePayload(
            changed=bool(outcome.value), errors=from_input_errors(outcome.errors)
        )
