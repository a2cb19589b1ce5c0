"""The review queue (catalog_ml.pipeline.review) on a real delta-rs lake, no Spark needed."""

import csv
import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from catalog_ml.errors import NightMissingError, ReviewFileError
from catalog_ml.lake import Lake
from catalog_ml.lake.tables import CLASSIFICATIONS, LABELS, PRODUCT_SNAPSHOTS, PRODUCTS
from catalog_ml.pipeline.review import export_review, import_review

NIGHT = dt.date(2026, 11, 2)
TITLES = {"p1": "=HYPERLINK(\"http://evil.example\",\"click\")", "p2": "+1 555 0100",
          "p3": "-10% off", "p4": "@SUM(A1:A9)", "p5": "\tTabbed", "=p6": "Plain title"}
TAXONOMY = ["Apparel > Topwear > Tshirts", "Apparel > Bottomwear > Jeans"]


@pytest.fixture
def lake(settings) -> Lake:
    lake = Lake.from_settings(settings)
    snapshot = [{"dump_date": NIGHT, "product_id": pid, "title": title,
                 "content_hash": f"h-{pid}"} for pid, title in TITLES.items()]
    with lake.writer("test"):
        lake.append("product_snapshots", pa.Table.from_pylist(snapshot,
                                                               schema=PRODUCT_SNAPSHOTS.schema))
        lake.append("products", pa.Table.from_pylist(
            [{**{k: v for k, v in row.items() if k != "dump_date"}, "first_seen": NIGHT,
              "last_seen": NIGHT, "dump_date": NIGHT} for row in snapshot],
            schema=PRODUCTS.schema))
        lake.append("labels", pa.Table.from_pylist(
            [{"product_id": f"known-{i}", "category": c, "source": "dump", "dump_date": NIGHT}
             for i, c in enumerate(TAXONOMY)], schema=LABELS.schema))
        lake.append("classifications", pa.Table.from_pylist(
            [{"run_date": NIGHT, "product_id": pid, "content_hash": f"h-{pid}",
              "category": TAXONOMY[0], "confidence": 0.4,
              "top_k": [{"category": TAXONOMY[0], "confidence": 0.4}],
              "model_version": "v1", "needs_review": True,
              "modality_weights": {"text": 1.0, "image": 0.0, "price": 0.0}}
             for pid in TITLES], schema=CLASSIFICATIONS.schema))
    return lake


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_export_never_hands_a_spreadsheet_a_formula(lake, settings, tmp_path):
    out = tmp_path / "review.csv"
    export_review(settings, NIGHT, str(out))
    rows = _rows(out)
    assert len(rows) == len(TITLES)
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    by_id = {r["product_id"]: r for r in rows}
    assert by_id["'=p6"]["title"] == "Plain title"
    assert by_id["p1"]["title"] == "'" + TITLES["p1"]


def test_an_exported_sheet_imports_back_with_the_ids_as_they_were(lake, settings, tmp_path):
    out = tmp_path / "review.csv"
    export_review(settings, NIGHT, str(out))
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    frame["correct_category"] = TAXONOMY[1]
    frame.to_csv(out, index=False)
    assert import_review(settings, str(out))["imported"] == len(TITLES)
    labels = lake.read("labels").to_pandas()
    reviewed = labels[labels["source"] == "review"]
    assert sorted(reviewed["product_id"]) == sorted(TITLES)
    assert set(reviewed["category"]) == {TAXONOMY[1]}


@pytest.mark.parametrize(("decision", "message"), [
    ("Apparel > Topwear > Tshirtz", "nearest: 'Apparel > Topwear > Tshirts'"),
    ("Apparel", "not in the lake's taxonomy"),
    ("=HYPERLINK(\"x\")", "a level starts with '=', '+' or '@'"),
    (" > ".join(["L"] * 12), "deeper than max_category_depth"),
    ("A >  > B", "empty level"),
])
def test_a_decision_outside_the_taxonomy_is_refused_and_nothing_imported(
        lake, settings, tmp_path, decision, message):
    sheet = tmp_path / "review.csv"
    pd.DataFrame({"product_id": ["p2", "p3"], "correct_category": [TAXONOMY[0], decision]}
                 ).to_csv(sheet, index=False)
    before = lake.version("labels")
    with pytest.raises(ReviewFileError, match=rf"row 3: correct_category .*{message[:20]}"):
        import_review(settings, str(sheet))
    assert lake.version("labels") == before


def test_a_new_category_needs_the_explicit_flag(lake, settings, tmp_path):
    sheet = tmp_path / "review.csv"
    pd.DataFrame({"product_id": ["p2"], "correct_category": ["Apparel > Topwear > Polos"]}
                 ).to_csv(sheet, index=False)
    with pytest.raises(ReviewFileError, match="--allow-new-categories"):
        import_review(settings, str(sheet))
    assert import_review(settings, str(sheet), allow_new_categories=True)["imported"] == 1
    assert "Apparel > Topwear > Polos" in set(lake.read("labels").column("category").to_pylist())


def test_a_huge_bad_sheet_gets_a_bounded_message(lake, settings, tmp_path):
    sheet = tmp_path / "review.csv"
    pd.DataFrame({"product_id": [f"nope-{i}" for i in range(50_000)],
                  "correct_category": TAXONOMY[0]}).to_csv(sheet, index=False)
    with pytest.raises(ReviewFileError) as caught:
        import_review(settings, str(sheet))
    message = str(caught.value)
    assert "50000 bad row(s)" in message and "and 49980 more" in message
    assert len(message) < 5_000


@pytest.mark.parametrize(("content", "says"), [
    (b"", "the review file is empty"),
    ("product_id,correct_category\np1,Apparel > Topwear > T\u00e9es\n".encode("cp1252"),
     "not UTF-8 text .*byte 0xe9.*CSV UTF-8"),
])
def test_an_empty_or_non_utf8_sheet_is_a_data_problem_not_a_bug(lake, settings, tmp_path,
                                                                content, says):
    sheet = tmp_path / "review.csv"
    sheet.write_bytes(content)
    with pytest.raises(ReviewFileError, match=says):
        import_review(settings, str(sheet))
    assert lake.read("labels").num_rows == len(TAXONOMY)


def test_exporting_a_night_that_never_ran_says_so(lake, settings, tmp_path):
    with pytest.raises(NightMissingError, match=r"night 2026-10-01 never ran .*2026-11-02"):
        export_review(settings, dt.date(2026, 10, 1), str(tmp_path / "r.csv"))
    assert not (tmp_path / "r.csv").exists()
