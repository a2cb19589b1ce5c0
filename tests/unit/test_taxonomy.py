"""catalog_ml.taxonomy: the normal form of category paths and what makes one valid."""

from __future__ import annotations

from catalog_ml.taxonomy import (
    depth,
    levels,
    normalise_category,
    path_problem,
    truncate,
    unknown_problem,
)


def test_paths_are_normalised_around_their_separators():
    assert normalise_category("Apparel>Topwear >  Shirts") == "Apparel > Topwear > Shirts"
    assert normalise_category(None) is None
    assert levels("A > B > C") == ["A", "B", "C"]


def test_a_path_is_refused_for_empty_levels_depth_control_characters_and_formulas():
    assert path_problem("A > B", 8) is None
    assert "empty level" in path_problem(normalise_category("A > > B"), 8)
    assert "deeper than max_category_depth 2" in path_problem("A > B > C", 2)
    assert "control character" in path_problem("A > B\x07", 8)
    assert "formula" in path_problem("A > =cmd()", 8)


def test_a_category_outside_the_taxonomy_names_the_nearest_and_the_way_out():
    taxonomy = {"Apparel > Topwear > Tshirts", "Apparel > Topwear > Shirts"}
    assert unknown_problem("Apparel > Topwear > Tshirts", taxonomy) is None
    assert unknown_problem("Anything", set()) is None  # no taxonomy yet: the first night founds it
    problem = unknown_problem("Apparel > Topwear > Tshirtz", taxonomy)
    assert "'Apparel > Topwear > Tshirts'" in problem and "--allow-new-categories" in problem
    assert "2 categories" in problem


def test_truncate_and_depth_count_levels():
    assert truncate("A > B > C", 2) == "A > B"
    assert truncate("A", 3) == "A"
    assert depth(["A", "A > B > C", "A > B"]) == 3 and depth([]) == 0
