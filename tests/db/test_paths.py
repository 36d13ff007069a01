from __future__ import annotations

import pytest

from db.paths import ancestor_ids, child_path, path_end, segment


def test_child_path_appends_a_fixed_width_segment() -> None:
    assert child_path(None, 1) == "/00000001/"
    assert child_path("/00000001/", 42) == "/00000001/00000042/"


def test_path_end_bounds_the_subtree_and_excludes_siblings() -> None:
    parent = child_path(None, 1)
    inside = child_path(parent, 5)
    sibling = child_path(None, 10)
    assert parent <= inside < path_end(parent)
    assert not parent <= sibling < path_end(parent)


def test_ancestor_ids_root_first() -> None:
    assert ancestor_ids("/00000001/00000004/00000009/") == [1, 4, 9]


@pytest.mark.parametrize("bad", [0, -1, 10**8])
def test_segment_refuses_ids_that_do_not_fit(bad: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        segment(bad)
