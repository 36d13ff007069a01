"""Per-area counters, kept in the transaction of every write, and their recount.

Each counter holds a count for an area's whole subtree: a write adds its delta
to the area that holds the row and to every ancestor (one upsert statement for
all of them). Rows are always locked in one order, deepest area first (so
concurrent writers never deadlock, and the county's row, which every write
touches, is locked last), and as late as the transaction allows: a write in
``deferred`` adds its bumps up and upserts them when it ends, just before its
commit. Distinct counts (households visited, a cadre's households, needy
households by reason) are decided by tallies: the first visit to a household
is the one that takes its tally from 0 to 1.

``recount`` computes every counter from the base rows alone; ``rebuild``
replaces the counters and tallies with it. Tests hold the two equal.
"""

from db.counters.bumps import bump, changed, deferred
from db.counters.items import item_moved, items_recorded, meeting_recorded, suggestion_added
from db.counters.keys import (
    CADRES,
    CADRES_ACTIVE,
    CADRES_AT_QUOTA,
    CONDOLENCE_FEN,
    CONDOLENCE_PEOPLE,
    HOUSEHOLDS,
    ITEM_STATUS,
    ITEMS,
    MEETINGS,
    NEEDY,
    OF_ITEMS,
    OF_MEETINGS,
    OF_VISITS,
    QUOTA,
    SUGGESTIONS,
    TREE,
    VERSION,
    VERSION_OF,
    VISITED,
    VISITS,
    Counts,
    item_key,
    split_item_key,
    status_key,
)
from db.counters.recount import held, rebuild, recount, stored
from db.counters.visits import one_visit_counted, visits_recorded

__all__ = [
    "CADRES",
    "CADRES_ACTIVE",
    "CADRES_AT_QUOTA",
    "CONDOLENCE_FEN",
    "CONDOLENCE_PEOPLE",
    "HOUSEHOLDS",
    "ITEMS",
    "ITEM_STATUS",
    "MEETINGS",
    "NEEDY",
    "OF_ITEMS",
    "OF_MEETINGS",
    "OF_VISITS",
    "QUOTA",
    "SUGGESTIONS",
    "TREE",
    "VERSION",
    "VERSION_OF",
    "VISITED",
    "VISITS",
    "Counts",
    "bump",
    "changed",
    "deferred",
    "held",
    "item_key",
    "item_moved",
    "items_recorded",
    "meeting_recorded",
    "one_visit_counted",
    "rebuild",
    "recount",
    "split_item_key",
    "status_key",
    "stored",
    "suggestion_added",
    "visits_recorded",
]
