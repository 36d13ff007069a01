"""Saved queries (persisted documents): the registry, and who may run what.

A saved query is a named GraphQL query document, checked against the schema
when it is saved, with a version history and the roles that may run it. Its
id is the SHA-256 of its text (``sha256:<hex>``), as in the GraphQL-over-HTTP
persisted-documents form and Apollo's automatic persisted queries.

Every registry change bumps the policy version, so each process's cache of
hash lookups (``Registry``) is dropped on its next request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
from collections.abc import Sequence

import graphql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import write_transaction
from db.models import SavedQuery
from db.queries import access as access_queries
from db.queries import saved_queries as saved_query_queries
from policies.permissions import Act, Obj, Role
from resolvers.common.access import Access
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.writes import Outcome

NAME = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
MAX_DOCUMENT_LENGTH = 100_000
MAX_DESCRIPTION_LENGTH = 2_000
DOCUMENT_ID_PREFIX = "sha256:"
ROLE_NAMES = frozenset(role.value for role in Role)


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def document_id(sha256: str) -> str:
    return DOCUMENT_ID_PREFIX + sha256


def parse_document_id(value: str) -> str | None:
    """The hex hash in ``sha256:<hex>``; None for anything else."""
    if not value.startswith(DOCUMENT_ID_PREFIX):
        return None
    hexdigest = value[len(DOCUMENT_ID_PREFIX) :]
    return hexdigest if re.fullmatch(r"[0-9a-f]{64}", hexdigest) else None


@dataclasses.dataclass(frozen=True)
class Variable:
    """A variable the document declares: name, GraphQL type, default as a literal."""

    name: str
    type: str
    default: str | None

    @property
    def required(self) -> bool:
        return self.type.endswith("!") and self.default is None


@dataclasses.dataclass(frozen=True)
class Saved:
    """One version of a saved query, with the roles (of its newest version) that may run it."""

    id: int
    name: str
    version: int
    document: str
    sha256: str
    description: str
    roles: tuple[str, ...]
    created_at: dt.datetime
    retired: bool

    @classmethod
    def from_row(cls, row: SavedQuery, roles: str | None = None) -> Saved:
        listed = row.roles if roles is None else roles
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            document=row.document,
            sha256=row.sha256,
            description=row.description,
            roles=tuple(r for r in listed.split(",") if r),
            created_at=row.created_at,
            retired=row.retired_at is not None,
        )

    @property
    def document_id(self) -> str:
        return document_id(self.sha256)

    @property
    def variables(self) -> tuple[Variable, ...]:
        return variables_of(self.document)


@functools.lru_cache(maxsize=512)
def variables_of(document: str) -> tuple[Variable, ...]:
    operation = graphql.get_operation_ast(graphql.parse(document))
    if operation is None:
        return ()
    return tuple(
        Variable(
            name=definition.variable.name.value,
            type=graphql.print_ast(definition.type),
            default=(
                graphql.print_ast(definition.default_value)
                if definition.default_value is not None
                else None
            ),
        )
        for definition in operation.variable_definitions or ()
    )


def check_document(schema: graphql.GraphQLSchema, document: str) -> list[str]:
    """What is wrong with ``document`` as a saved query; empty when nothing is."""
    if not document.strip():
        return ["the document is empty"]
    if len(document) > MAX_DOCUMENT_LENGTH:
        return [f"the document is longer than {MAX_DOCUMENT_LENGTH} characters"]
    try:
        parsed = graphql.parse(document)
    except graphql.GraphQLError as error:
        return [error.message]
    problems = [error.message for error in graphql.validate(schema, parsed)]
    operation = graphql.get_operation_ast(parsed)  # None unless exactly one
    if operation is None:
        problems.append("a saved query holds exactly one operation")
    elif operation.operation is not graphql.OperationType.QUERY:
        problems.append("a saved query is a query; mutations and subscriptions cannot be saved")
    return problems


def may_manage(access: Access) -> bool:
    return access.can(Obj.SAVED_QUERY, Act.WRITE, None)


def may_run(access: Access, saved: Saved) -> bool:
    """Administrators run every saved query; others need one of its roles, anywhere."""
    if may_manage(access):
        return True
    held = {grant.role for grant in access.principal.grants}
    return not held.isdisjoint(saved.roles)


def may_send_adhoc(access: Access, *, saved_queries_only: bool) -> bool:
    """May this caller send a document of their own? (The allowlist's rule.)

    A caller with no role at all may: they see nothing, exactly as before any
    grant (a refusal would tell them apart from a user whose grants ran out).
    """
    if saved_queries_only:
        return may_manage(access)
    return not access.principal.grants or access.can(Obj.ADHOC_QUERY, Act.READ, None)


class Registry:
    """Hash → saved query lookups, cached per policy version (registry changes bump it).

    Misses are cached too (a client polling an unknown hash costs one query per
    version); the cache is bounded and starts afresh when full.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._version = -1
        self._by_sha: dict[str, Saved | None] = {}

    async def find(
        self, sessionmaker: async_sessionmaker[AsyncSession], version: int, sha256: str
    ) -> Saved | None:
        if version != self._version:
            self._by_sha = {}
            self._version = version
        if sha256 in self._by_sha:
            return self._by_sha[sha256]
        async with sessionmaker() as session:
            found = await _find(session, sha256)
        if len(self._by_sha) >= self.max_entries:
            self._by_sha = {}
        self._by_sha[sha256] = found
        return found


async def _find(session: AsyncSession, sha256: str) -> Saved | None:
    row = await saved_query_queries.find_by_sha256(session=session, sha256=sha256)
    if row is None:
        return None
    newest = await saved_query_queries.latest(session=session, name=row.name)
    return Saved.from_row(row, roles=newest.roles if newest else None)


async def list_runnable(context: Context) -> list[Saved]:
    """The saved queries the caller may run (administrators: all), by name."""
    async with context.reading() as session:
        rows = await saved_query_queries.list_latest(session=session)
    found = [Saved.from_row(row) for row in rows]
    return [saved for saved in found if may_run(context.access, saved)]


async def get(context: Context, *, name: str, version: int | None = None) -> Saved | None:
    """A saved query by name (newest version unless one is named), if the caller may run it."""
    async with context.reading() as session:
        newest = await saved_query_queries.latest(session=session, name=name)
        if newest is None or newest.retired_at is not None:
            return None
        row = (
            newest
            if version is None
            else await saved_query_queries.get_version(session=session, name=name, version=version)
        )
    if row is None:
        return None
    saved = Saved.from_row(row, roles=newest.roles)
    return saved if may_run(context.access, saved) else None


async def versions(context: Context, saved: Saved) -> list[Saved]:
    async with context.reading() as session:
        rows = await saved_query_queries.list_versions(session=session, name=saved.name)
    return [Saved.from_row(row, roles=",".join(saved.roles)) for row in rows]


@dataclasses.dataclass(frozen=True)
class SaveInput:
    name: str
    document: str
    description: str
    roles: Sequence[str]


def _denied() -> InputError:
    return InputError(ErrorCode.NOT_ALLOWED_HERE, "name", "you may not manage saved queries")


def _check_input(schema: graphql.GraphQLSchema, data: SaveInput) -> list[InputError]:
    errors: list[InputError] = []
    if not NAME.fullmatch(data.name):
        message = "a name is 2–64 characters: lower-case letters, digits, - and _"
        errors.append(InputError(ErrorCode.NOT_ALLOWED_HERE, "name", message))
    if len(data.description) > MAX_DESCRIPTION_LENGTH:
        message = f"description may be at most {MAX_DESCRIPTION_LENGTH} characters"
        errors.append(InputError(ErrorCode.TEXT_TOO_LONG, "description", message))
    if not data.roles:
        errors.append(InputError(ErrorCode.REQUIRED, "roles", "name at least one role"))
    errors.extend(
        InputError(ErrorCode.NOT_ALLOWED_HERE, "roles", f"unknown role: {role}")
        for role in data.roles
        if role not in ROLE_NAMES
    )
    errors.extend(
        InputError(ErrorCode.INVALID_DOCUMENT, "document", problem)
        for problem in check_document(schema, data.document)
    )
    return errors


async def save(
    context: Context, schema: graphql.GraphQLSchema, data: SaveInput
) -> Outcome[tuple[Saved, bool]]:
    """Save a new version of ``data.name`` unless nothing changed; (saved, created)."""
    if not may_manage(context.access):
        return Outcome(errors=(_denied(),))
    if errors := _check_input(schema, data):
        return Outcome(errors=tuple(errors))
    roles = tuple(sorted(set(data.roles)))
    sha256 = sha256_of(data.document)
    try:
        async with write_transaction(context.sessionmaker) as session:
            newest = await saved_query_queries.latest(session=session, name=data.name)
            unchanged = (
                newest is not None
                and newest.retired_at is None
                and newest.sha256 == sha256
                and newest.description == data.description
                and newest.roles == ",".join(roles)
            )
            if newest is not None and unchanged:
                return Outcome(value=(Saved.from_row(newest), False))
            if newest is not None:
                await saved_query_queries.set_retired(session=session, name=data.name, at=None)
            saved_id = await saved_query_queries.create(
                session=session,
                name=data.name,
                version=(newest.version + 1) if newest else 1,
                document=data.document,
                sha256=sha256,
                description=data.description,
                roles=roles,
                created_by=context.access.user_id or None,
            )
            await _audited(context, session, "saveQuery", saved_id)
            await access_queries.bump_version(session=session)
            row = await saved_query_queries.latest(session=session, name=data.name)
            assert row is not None
            saved = Saved.from_row(row)
    except IntegrityError:
        message = "someone saved this query meanwhile; reload and retry"
        return Outcome(errors=(InputError(ErrorCode.CONCURRENT_CHANGE, "name", message),))
    return Outcome(value=(saved, True))


async def retire(context: Context, *, name: str) -> Outcome[bool]:
    """Stop ``name`` from running, every version of it; saving it again brings it back."""
    if not may_manage(context.access):
        return Outcome(errors=(_denied(),))
    async with write_transaction(context.sessionmaker) as session:
        newest = await saved_query_queries.latest(session=session, name=name)
        if newest is None or newest.retired_at is not None:
            message = "no saved query has that name"
            return Outcome(errors=(InputError(ErrorCode.NOT_ALLOWED_HERE, "name", message),))
        now = dt.datetime.now(dt.UTC)
        await saved_query_queries.set_retired(session=session, name=name, at=now)
        await _audited(context, session, "retireSavedQuery", newest.id)
        await access_queries.bump_version(session=session)
    return Outcome(value=True)


async def _audited(context: Context, session: AsyncSession, action: str, saved_id: int) -> None:
    await access_queries.record_audit(
        session=session,
        user_id=context.access.user_id,
        action=action,
        object_type="saved_query",
        object_id=saved_id,
        rows=1,
        request_id=context.request_id,
    )
