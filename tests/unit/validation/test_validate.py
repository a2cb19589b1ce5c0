"""The dump contract enforced by the real Great Expectations suite, row by row."""

import csv
import datetime as dt
import json
import math
import os
from pathlib import Path

import pytest
from PIL import Image

from catalog_ml.validation.dump import DumpError
from catalog_ml.validation.validate import ValidationGateError, validate_dump

NIGHT = dt.date(2026, 11, 2)
COLUMNS = ["product_id", "title", "description", "price", "currency", "image", "category",
           "colour"]
GOOD = [
    {"product_id": "ok-1", "title": "Red, cotton\nshirt", "price": "19.99", "currency": "usd",
     "image": "images/ok.jpg", "category": "Apparel>Tops > Shirts", "colour": "red"},
    {"product_id": "ok-2", "title": "Café ☕ 日本語 Ünïcödé", "price": "-0", "currency": "JPY"},
    {"product_id": "ok-3", "title": "Remote photo", "image": "https://example.com/a.jpg"},
    {"product_id": "ok-4", "title": "No price, no image"},
]
BROKEN = {
    "no-id": ({"product_id": "", "title": "no id"}, "product_id"),
    "dup-a": ({"product_id": "dup", "title": "first"}, "product_id"),
    "dup-b": ({"product_id": "dup", "title": "second"}, "product_id"),
    "blank-title": ({"product_id": "b1", "title": "   "}, "title"),
    "negative": ({"product_id": "b2", "title": "t", "price": "-5", "currency": "EUR"}, "price"),
    "not-number": ({"product_id": "b3", "title": "t", "price": "12,50", "currency": "EUR"},
                   "price"),
    "infinite": ({"product_id": "b4", "title": "t", "price": "inf", "currency": "EUR"}, "price"),
    "no-currency": ({"product_id": "b5", "title": "t", "price": "10"}, "currency"),
    "bad-currency": ({"product_id": "b6", "title": "t", "price": "1", "currency": "XYZ"},
                     "currency"),
    "dotdot": ({"product_id": "b7", "title": "t", "image": "../secret.jpg"}, "image"),
    "absolute": ({"product_id": "b8", "title": "t", "image": "/etc/passwd"}, "image"),
    "symlink": ({"product_id": "b9", "title": "t", "image": "images/escape.jpg"}, "image"),
    "corrupt": ({"product_id": "b10", "title": "t", "image": "images/corrupt.jpg"}, "image"),
    "missing": ({"product_id": "b11", "title": "t", "image": "images/none.jpg"}, "image"),
    "truncated": ({"product_id": "b14", "title": "t", "image": "images/truncated.jpg"},
                  "image"),
    "huge-title": ({"product_id": "b12", "title": "x" * 100_000}, "title"),
    "bad-category": ({"product_id": "b13", "title": "t", "category": "A >  > B"}, "category"),
}


def write_csv(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "products.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture
def broken_dump(tmp_path: Path) -> Path:
    folder = tmp_path / "dump"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "images" / "ok.jpg")
    (folder / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8 this is no jpeg")
    Image.effect_noise((256, 256), 60).convert("RGB").save(folder / "images" / "whole.jpg")
    whole = (folder / "images" / "whole.jpg").read_bytes()
    (folder / "images" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    outside = tmp_path / "outside.jpg"
    Image.new("RGB", (8, 8)).save(outside)
    os.symlink(outside, folder / "images" / "escape.jpg")
    return write_csv(folder, GOOD + [row for row, _ in BROKEN.values()])


def test_every_broken_row_is_rejected_with_a_reason_naming_its_field(broken_dump, settings):
    outcome = validate_dump(broken_dump, NIGHT, settings.replace(max_reject_share=0.9))
    assert outcome.rows_received == len(GOOD) + len(BROKEN)
    assert sorted(outcome.accepted["product_id"]) == ["ok-1", "ok-2", "ok-3", "ok-4"]
    rejected = {row: reasons for row, reasons in
                zip(outcome.rejected["source_row"], outcome.rejected["reasons"], strict=True)}
    for offset, (name, (_, field)) in enumerate(BROKEN.items()):
        row = len(GOOD) + offset + 1
        assert row in rejected, f"{name} was not rejected"
        assert any(r.startswith(f"{field}:") for r in rejected[row]), (name, rejected[row])
    assert len(outcome.accepted) + len(outcome.rejected) == outcome.rows_received


def test_reasons_quote_the_value_as_received(broken_dump, settings):
    outcome = validate_dump(broken_dump, NIGHT, settings.replace(max_reject_share=0.9))
    reasons = [r for rs in outcome.rejected["reasons"] for r in rs]
    assert "price: must be a finite number from 0 to 1,000,000,000,000 ('-5')" in reasons
    assert "price: not a number ('12,50')" in reasons
    assert any(r.startswith("image: corrupt:") for r in reasons)
    assert any(r.startswith("image: outside:") for r in reasons)
    raw = json.loads(outcome.rejected.loc[outcome.rejected["product_id"] == "b2",
                                          "raw_record"].iloc[0])
    assert raw == {"product_id": "b2", "title": "t", "price": "-5", "currency": "EUR"}


def test_accepted_rows_are_typed_and_keep_extra_columns(broken_dump, settings):
    outcome = validate_dump(broken_dump, NIGHT, settings.replace(max_reject_share=0.9))
    first = outcome.accepted.set_index("product_id").loc["ok-1"]
    free = outcome.accepted.set_index("product_id").loc["ok-2", "price"]
    assert free == 0 and math.copysign(1.0, free) == 1.0  # "-0" is stored as 0, not -0
    assert first["price"] == pytest.approx(19.99)
    assert first["currency"] == "USD"
    assert first["category"] == "Apparel > Tops > Shirts"
    assert json.loads(first["attributes"]) == {"colour": "red"}
    assert first["image_uri"].startswith("file://")
    missing_price = outcome.accepted.set_index("product_id").loc["ok-4"]
    assert missing_price["price"] != missing_price["price"]  # NaN: unknown, never 0


def test_too_many_rejected_rows_stop_the_night(broken_dump, settings):
    with pytest.raises(ValidationGateError, match="above max_reject_share"):
        validate_dump(broken_dump, NIGHT, settings.replace(max_reject_share=0.2))


def test_missing_required_column_stops_the_night(tmp_path, settings):
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "products.csv").write_text("product_id,name\np1,Lamp\n")
    with pytest.raises(ValidationGateError, match=r"required column.*'title'"):
        validate_dump(folder, NIGHT, settings)


def test_empty_dump_stops_the_night(tmp_path, settings):
    folder = write_csv(tmp_path / "dump", [])
    with pytest.raises(ValidationGateError, match="no rows"):
        validate_dump(folder, NIGHT, settings)


def test_unreadable_file_stops_the_night(tmp_path, settings):
    folder = tmp_path / "dump"
    folder.mkdir()
    (folder / "products.parquet").write_bytes(b"garbage")
    with pytest.raises(DumpError, match="cannot read"):
        validate_dump(folder, NIGHT, settings)


def test_content_hash_tracks_content_not_label(tmp_path, settings):
    base = {"product_id": "p", "title": "Lamp", "price": "10", "currency": "EUR",
            "category": "Home > Lamps"}
    hashes = []
    for change in ({}, {"category": "Home > Other"}, {"price": "11"}, {"title": "Lamp 2"}):
        folder = write_csv(tmp_path / f"d{len(hashes)}", [{**base, **change}])
        hashes.append(validate_dump(folder, NIGHT, settings).accepted["content_hash"].iloc[0])
    assert hashes[0] == hashes[1]
    assert len({hashes[0], hashes[2], hashes[3]}) == 3


def test_replaced_photo_changes_the_content_hash(tmp_path, settings):
    folder = tmp_path / "dump"
    (folder / "images").mkdir(parents=True)
    write_csv(folder, [{"product_id": "p", "title": "Lamp", "image": "images/p.jpg"}])
    Image.new("RGB", (16, 16), (0, 0, 0)).save(folder / "images" / "p.jpg")
    before = validate_dump(folder, NIGHT, settings).accepted["content_hash"].iloc[0]
    Image.new("RGB", (16, 16), (255, 255, 255)).save(folder / "images" / "p.jpg")
    after = validate_dump(folder, NIGHT, settings).accepted["content_hash"].iloc[0]
    assert before != after


def _reasons(outcome) -> dict[str, list[str]]:
    return dict(zip(outcome.rejected["product_id"], outcome.rejected["reasons"], strict=True))


def test_a_photo_that_declares_too_many_pixels_is_a_quarantined_row(tmp_path, settings):
    folder = tmp_path / "dump"
    (folder / "images").mkdir(parents=True)
    Image.new("1", (30_000, 30_000)).save(folder / "images" / "bomb.png", optimize=True)
    assert (folder / "images" / "bomb.png").stat().st_size < 200_000  # tiny file, 900 MP
    Image.new("RGB", (300, 300)).save(folder / "images" / "big.png")
    Image.new("RGB", (32, 32)).save(folder / "images" / "fine.png")
    write_csv(folder, [{"product_id": "bomb", "title": "t", "image": "images/bomb.png"},
                       {"product_id": "big", "title": "t", "image": "images/big.png"},
                       {"product_id": "fine", "title": "t", "image": "images/fine.png"}])
    outcome = validate_dump(folder, NIGHT, settings.replace(max_reject_share=1.0,
                                                            max_image_pixels=50_000))
    reasons = _reasons(outcome)
    assert reasons["bomb"] == ["image: too_large: declares 900,000,000 pixels, above "
                               "max_image_pixels 50,000 (setting max_image_pixels) "
                               "('images/bomb.png')"]
    assert "300 x 300 pixels, above max_image_pixels" in reasons["big"][0]
    assert list(outcome.accepted["product_id"]) == ["fine"]
    small = validate_dump(folder, NIGHT, settings.replace(max_reject_share=1.0,
                                                          max_image_bytes=20))
    assert "above max_image_bytes 20" in _reasons(small)["fine"][0]


def test_ids_with_control_characters_and_bad_category_paths_are_rejected(tmp_path, settings):
    deep = " > ".join(f"L{i}" for i in range(12))
    folder = write_csv(tmp_path / "dump", [
        {"product_id": "bell\x07", "title": "t"},
        {"product_id": "deep", "title": "t", "category": deep},
        {"product_id": "formula", "title": "t", "category": "=HYPERLINK(\"x\") > A"},
        {"product_id": "meta", "title": "t", "image": "http://169.254.169.254/latest/"},
        {"product_id": "good", "title": "t", "category": "A > B"},
    ])
    outcome = validate_dump(folder, NIGHT, settings.replace(max_reject_share=1.0))
    reasons = {k: " | ".join(v) for k, v in _reasons(outcome).items()}
    assert reasons["bell\x07"].startswith("product_id: holds a control character")
    assert "12 levels, deeper than max_category_depth 8" in reasons["deep"]
    assert "a level starts with '=', '+' or '@'" in reasons["formula"]
    assert "image: refused: 169.254.169.254 is a link-local address" in reasons["meta"]
    assert list(outcome.accepted["product_id"]) == ["good"]


def test_labels_outside_the_lakes_taxonomy_are_refused_unless_allowed(tmp_path, settings):
    folder = write_csv(tmp_path / "dump", [
        {"product_id": "typo", "title": "t", "category": "Apparel > Topwear > Tshirtz"},
        {"product_id": "bare", "title": "t", "category": "Apparel"},
        {"product_id": "known", "title": "t", "category": "Apparel>Topwear>Tshirts"},
        {"product_id": "unlabelled", "title": "t"},
    ])
    taxonomy = {"Apparel > Topwear > Tshirts", "Apparel > Bottomwear > Jeans"}
    lax = settings.replace(max_reject_share=1.0)
    outcome = validate_dump(folder, NIGHT, lax, taxonomy)
    reasons = _reasons(outcome)
    assert reasons["typo"] == [
        "category: not in the lake's taxonomy (2 categories; nearest: "
        "'Apparel > Topwear > Tshirts'); a new category needs --allow-new-categories "
        "(setting allow_new_categories) ('Apparel > Topwear > Tshirtz')"]
    assert reasons["bare"][0].startswith("category: not in the lake's taxonomy")
    assert sorted(outcome.accepted["product_id"]) == ["known", "unlabelled"]
    allowed = validate_dump(folder, NIGHT, lax.replace(allow_new_categories=True), taxonomy)
    assert len(allowed.accepted) == 4
    founding = validate_dump(folder, NIGHT, lax, taxonomy=())  # the first labelled night
    assert len(founding.accepted) == 4


def test_a_product_file_that_links_outside_the_dump_is_refused(tmp_path, settings):
    folder = tmp_path / "dump"
    folder.mkdir()
    secret = tmp_path / "secret.csv"
    secret.write_text("product_id,title\np,t\n")
    os.symlink(secret, folder / "products.csv")
    with pytest.raises(DumpError, match="outside the dump folder"):
        validate_dump(folder, NIGHT, settings)
