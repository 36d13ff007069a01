"""The role matrix: its lines (role, object, action, effect), set one at a time or loaded
whole, and the store of the authorizer built from them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import write_transaction
from db.queries import access as access_queries
from policies.authorizer import Rule, rule_problems
from policies.permissions import LEDGER_KINDS, Act, Obj, ledger_object
from policies.store import PolicyStore
from resolvers.access.core import audited, denied
from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError, ErrorCode, InputError
from resolvers.common.writes import Outcome

# What an action may name: a concrete object, never a pattern ("ledger.*", "ledger.x").
OBJECTS = frozenset(o.value for o in Obj) | frozenset(ledger_object(k) for k in LEDGER_KINDS)
ACTIONS = tuple(a.value for a in Act)


def parse_action(action: str) -> tuple[str, Act] | None:
    """``visit.write`` → (``visit``, WRITE); ``ledger.stability.read`` likewise."""
    obj, _, act = action.rpartition(".")
    if obj not in OBJECTS or act not in ACTIONS:
        return None
    return obj, Act(act)


async def set_rule(
    context: Context, *, role: str, obj: str, act: str, eft: str | None
) -> Outcome[bool]:
    """Set (or with ``eft`` None remove) one line of the role matrix."""
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        return Outcome(errors=denied().errors)
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
        await audited(context, session, "setPolicyRule", "policy_rule", None)
    return Outcome(value=changed)


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
        await audited(context, session, "loadPolicy", "policy_rule", None)
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
