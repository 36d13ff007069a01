"""Saved queries in the API: list and read them, and (administrators) manage them."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import saved_queries
from schema.errors import SaveQueryError, from_input_errors
from schema.types import Info


@strawberry.type(description="A variable a saved query declares.")
class SavedQueryVariable:
    name: str
    type: str = strawberry.field(description="Its GraphQL type, e.g. `Date` or `String!`.")
    default_value: str | None = strawberry.field(
        description="Its default as a GraphQL literal; null when it has none."
    )
    required: bool = strawberry.field(description="Non-null and without a default.")


@strawberry.type(
    description="A saved query (persisted document): run it by `documentId` over /graphql, "
    "or as a table from /reports/{name}.csv or .xlsx."
)
class SavedQuery:
    name: str
    version: int
    document_id: str = strawberry.field(
        description="`sha256:<hex>` of the document: send it as `documentId`."
    )
    document: str
    description: str
    roles: list[str] = strawberry.field(description="Roles that may run it.")
    created_at: dt.datetime
    _saved: strawberry.Private[saved_queries.Saved]

    @classmethod
    def from_saved(cls, saved: saved_queries.Saved) -> SavedQuery:
        created = saved.created_at
        return cls(
            name=saved.name,
            version=saved.version,
            document_id=saved.document_id,
            document=saved.document,
            description=saved.description,
            roles=list(saved.roles),
            created_at=created if created.tzinfo else created.replace(tzinfo=dt.UTC),
            _saved=saved,
        )

    @strawberry.field(description="The variables it declares, with their types and defaults.")
    def variables(self) -> list[SavedQueryVariable]:
        return [
            SavedQueryVariable(
                name=v.name, type=v.type, default_value=v.default, required=v.required
            )
            for v in self._saved.variables
        ]

    @strawberry.field(description="Every version of this query, newest first.")
    async def versions(self, info: Info) -> list[SavedQuery]:
        found = await saved_queries.versions(info.context, self._saved)
        return [SavedQuery.from_saved(saved) for saved in found]

    @strawberry.field(description="Where to fetch it as CSV (add variables as parameters).")
    def report_path(self) -> str:
        return f"/reports/{self.name}.csv"


@strawberry.type
class SavedQueryQueries:
    @strawberry.field(description="The saved queries you may run (administrators: all).")
    async def saved_queries(self, info: Info) -> list[SavedQuery]:
        return [SavedQuery.from_saved(s) for s in await saved_queries.list_runnable(info.context)]

    @strawberry.field(description="A saved query by name; its newest version unless one is named.")
    async def saved_query(
        self, info: Info, name: str, version: int | None = None
    ) -> SavedQuery | None:
        found = await saved_queries.get(info.context, name=name, version=version)
        return SavedQuery.from_saved(found) if found else None


@strawberry.type
class SaveQueryPayload:
    saved_query: SavedQuery | None
    created: bool = strawberry.field(
        description="False when the name already held this exact document, description and roles."
    )
    errors: list[SaveQueryError]


@strawberry.type
class RetireSavedQueryPayload:
    retired: bool
    errors: list[SaveQueryError]


@strawberry.type
class SavedQueryMutations:
    @strawberry.mutation(
        description="Administrators: save a query under a name (a new version when it "
        "changed). The document is validated against the schema; it must hold one query."
    )
    async def save_query(
        self,
        info: Info,
        name: str,
        document: str,
        roles: list[str],
        description: str = "",
    ) -> SaveQueryPayload:
        outcome = await saved_queries.save(
            info.context,
            info.schema._schema,
            saved_queries.SaveInput(
                name=name, document=document, description=description, roles=roles
            ),
        )
        saved, created = outcome.value if outcome.value else (None, False)
        return SaveQueryPayload(
            saved_query=SavedQuery.from_saved(saved) if saved else None,
            created=created,
            errors=from_input_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Administrators: retire a saved query (every version stops running)."
    )
    async def retire_saved_query(self, info: Info, name: str) -> RetireSavedQueryPayload:
        outcome = await saved_queries.retire(info.context, name=name)
        return RetireSavedQueryPayload(
            retired=bool(outcome.value), errors=from_input_errors(outcome.errors)
        )
