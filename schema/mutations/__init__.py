"""The root Mutation, assembled from one class per noun."""

from __future__ import annotations

import strawberry

from schema.access import AccessMutations
from schema.mutations.imports import ImportMutations
from schema.mutations.ledgers import LedgerMutations
from schema.mutations.meetings import MeetingMutations
from schema.mutations.visits import BatchVisitMutations, VisitMutations
from schema.saved_queries import SavedQueryMutations


@strawberry.type
class Mutation(
    VisitMutations,
    BatchVisitMutations,
    MeetingMutations,
    LedgerMutations,
    ImportMutations,
    AccessMutations,
    SavedQueryMutations,
):
    pass
