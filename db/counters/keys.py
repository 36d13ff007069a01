"""The counters' names and keys, and the kinds of version each one's change moves."""

from __future__ import annotations

QUOTA = 20  # households each agency cadre visits at least (每人至少20户)

HOUSEHOLDS = "households"
VISITED = "visited_households"
VISITS = "visits"
CADRES = "cadres"
CADRES_ACTIVE = "cadres_active"
CADRES_AT_QUOTA = "cadres_at_quota"
MEETINGS = "meetings"
SUGGESTIONS = "suggestions"
CONDOLENCE_FEN = "condolence_fen"
CONDOLENCE_PEOPLE = "condolence_people"
ITEMS = "items"  # key: ledger|category|status
ITEM_STATUS = "item_status"  # key: ledger|status (the coarse view most screens show)
NEEDY = "needy"
# Not a count: versions. An area's version of a kind (its key) is how many writes have
# changed something of that kind in the area's subtree: its tree (households,
# cadres, children), its visits (and what cadres' visits make of them), its meetings,
# its ledger items. Every write adds 1 for each area whose subtree it touched, with
# its counters, so versions only ever grow; a cached rollup answer of an area is still
# exact while the versions of the kinds it shows are the ones it was read with.
VERSION = "version"
TREE, OF_VISITS, OF_MEETINGS, OF_ITEMS = "tree", "visits", "meetings", "items"
VERSION_OF = {  # which kind of version each counter's change moves
    HOUSEHOLDS: TREE,
    CADRES: TREE,
    VISITS: OF_VISITS,
    VISITED: OF_VISITS,
    CONDOLENCE_FEN: OF_VISITS,
    CONDOLENCE_PEOPLE: OF_VISITS,
    CADRES_ACTIVE: OF_VISITS,
    CADRES_AT_QUOTA: OF_VISITS,
    MEETINGS: OF_MEETINGS,
    SUGGESTIONS: OF_MEETINGS,
    ITEMS: OF_ITEMS,
    ITEM_STATUS: OF_ITEMS,
    NEEDY: OF_ITEMS,
}

Counts = dict[tuple[int, str, str], int]


def item_key(ledger: str, category: str, status: str) -> str:
    return f"{ledger}|{category}|{status}"


def status_key(ledger: str, status: str) -> str:
    return f"{ledger}|{status}"


def split_item_key(key: str) -> tuple[str, str, str]:
    ledger, category, status = key.split("|")
    return ledger, category, status
