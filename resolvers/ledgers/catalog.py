"""The ledgers and categories a caller may see: the one place restricted ledgers are decided.

Restricted ledgers are handled through ``context.visible_ledgers``. A ledger or
category outside it is answered exactly like one that does not exist.
"""

from __future__ import annotations

from db.ledgers import (
    CATALOG,
    Ledger,
    LedgerKind,
)
from policies.permissions import ledger_object
from resolvers.common.context import Context

# -- the catalog, as the caller may see it ------------------------------------------


def catalog(context: Context) -> list[LedgerKind]:
    return [kind for ledger, kind in CATALOG.items() if ledger in context.visible_ledgers]


def object_of(ledger: Ledger) -> str:
    return ledger_object(ledger.value)


def visible_ledger(context: Context, name: str) -> Ledger | None:
    """The ledger called ``name`` if it exists and the caller may see it."""
    try:
        ledger = Ledger(name)
    except ValueError:
        return None
    return ledger if ledger in context.visible_ledgers else None
