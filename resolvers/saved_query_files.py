"""Folders of saved queries: ``.graphql`` files with their metadata, read and pushed (a new
version where a document changed), as ``grassroots queries push`` and the demo do."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import graphql

from resolvers.common.context import Context
from resolvers.common.errors import InputError
from resolvers.saved_queries import SaveInput, save


@dataclasses.dataclass(frozen=True)
class QueryFile:
    """A ``.graphql`` file of a folder of saved queries: its name is the file's stem.

    Leading ``# description: …`` and ``# roles: a, b`` lines are the metadata;
    the document is the rest of the file.
    """

    name: str
    document: str
    description: str
    roles: tuple[str, ...]

    @classmethod
    def parse(cls, name: str, text: str) -> QueryFile:
        description: list[str] = []
        roles: tuple[str, ...] = ()
        lines = text.splitlines()
        body_start = 0
        for index, line in enumerate(lines):
            key, _, value = line.removeprefix("#").partition(":")
            if not line.startswith("#"):
                body_start = index
                break
            if key.strip() == "description":
                description.append(value.strip())
            elif key.strip() == "roles":
                roles = tuple(r.strip() for r in value.split(",") if r.strip())
            body_start = index + 1
        document = "\n".join(lines[body_start:]).strip() + "\n"
        return cls(name=name, document=document, description=" ".join(description), roles=roles)

    def as_input(self) -> SaveInput:
        return SaveInput(
            name=self.name, document=self.document, description=self.description, roles=self.roles
        )


def read_folder(paths: Iterable[tuple[str, str]]) -> list[QueryFile]:
    """``(stem, text)`` pairs as query files, by name."""
    return sorted((QueryFile.parse(stem, text) for stem, text in paths), key=lambda q: q.name)


@dataclasses.dataclass(frozen=True)
class Pushed:
    name: str
    version: int | None
    created: bool
    errors: tuple[InputError, ...]


async def push(
    context: Context, schema: graphql.GraphQLSchema, files: Iterable[QueryFile]
) -> list[Pushed]:
    """Save each file's query (a new version only where something changed)."""
    pushed = []
    for file in files:
        outcome = await save(context, schema, file.as_input())
        saved, created = outcome.value if outcome.value else (None, False)
        version = saved.version if saved else None
        pushed.append(Pushed(file.name, version, created, outcome.errors))
    return pushed
