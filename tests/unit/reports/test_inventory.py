"""catalog_ml.reports.inventory: counts per level from hand-made nights."""

from catalog_ml.reports.inventory import inventory
from tests.unit.reports.nights import data


def test_inventory_counts_new_changed_removed_and_review_per_level():
    before = [{"product_id": "a", "category": "Home > Lamp"},
              {"product_id": "b", "category": "Home > Lamp"},
              {"product_id": "gone", "category": "Home > Rug"}]
    tonight = [{"product_id": "a", "category": "Home > Lamp"},
               {"product_id": "b", "category": "Home > Lamp", "content_hash": "h2",
                "needs_review": True},
               {"product_id": "new", "category": "Garden > Hose"}]
    table = inventory(data(tonight, before)).set_index(["level", "category"])
    assert table.loc[(1, "Home")].to_dict() | {} == {
        "products": 2, "new": 0, "changed": 1, "removed": 1, "needs_review": 1,
        "needs_review_share": 0.5}
    assert table.loc[(2, "Home > Rug"), "removed"] == 1
    assert table.loc[(2, "Home > Rug"), "products"] == 0
    assert table.loc[(1, "Garden"), "new"] == 1
    level_one = table.loc[1]
    assert level_one["products"].sum() == len(tonight)


def test_the_first_night_counts_everything_as_new():
    table = inventory(data([{"product_id": "a", "category": "Home > Lamp"}]))
    assert table["new"].tolist() == [1, 1] and table["removed"].sum() == 0
