"""catalog_ml.pipeline.labels: the lake's taxonomy, as labels and the champion know it."""

from __future__ import annotations

import datetime as dt

from catalog_ml.lake import Lake
from catalog_ml.models.registry import register
from catalog_ml.pipeline.labels import champion_classes, known_categories
from tests.unit.lakes import add_night

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def test_a_rerun_of_the_founding_night_leaves_out_its_own_labels(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    add_night(lake, D1, ["a", "b"], categories={"a": "Home > Lamps", "b": "Home > Rugs"})
    add_night(lake, D2, ["c"], categories={"c": "Home > Sofas"})
    assert known_categories(lake) == {"Home > Lamps", "Home > Rugs", "Home > Sofas"}
    assert known_categories(lake, except_night=D1) == {"Home > Sofas"}


def test_the_champions_classes_join_the_taxonomy_when_asked(tmp_path, trained):
    lake = Lake(str(tmp_path / "lake"))
    assert champion_classes(lake) == []
    add_night(lake, D1, ["a"], categories={"a": "Home > Lamps"})
    model = trained[2]
    register(lake, model, label_snapshot="0")
    assert champion_classes(lake) == model.classes
    assert known_categories(lake, with_champion=True) == {"Home > Lamps", *model.classes}
