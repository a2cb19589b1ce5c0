"""catalog_ml.serving.products: a request's products checked as the night checks a dump."""

from __future__ import annotations

import base64
import io

from PIL import Image

from catalog_ml.config import load_settings
from catalog_ml.serving.products import check_request, unicode_problems


def _jpeg_uri() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, "JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_good_products_pass_and_bad_ones_are_rejected_naming_the_field():
    settings = load_settings()
    checked = check_request([
        {"product_id": "ok", "title": "Red lamp", "price": 12.5, "currency": "EUR"},
        {"product_id": "no-title", "title": ""},
        {"product_id": "cheap", "title": "Shirt", "price": "-1", "currency": "EUR"},
    ], settings, taxonomy=set())
    try:
        outcome = checked.outcome
        assert outcome.accepted["product_id"].tolist() == ["ok"]
        reasons = dict(zip(outcome.rejected["product_id"], outcome.rejected["reasons"],
                           strict=True))
        assert any(r.startswith("title:") for r in reasons["no-title"])
        assert any(r.startswith("price:") for r in reasons["cheap"])
    finally:
        checked.close()


def test_an_inline_photo_is_checked_and_a_path_needs_an_image_root():
    settings = load_settings()
    checked = check_request([
        {"product_id": "inline", "title": "Lamp", "image": _jpeg_uri()},
        {"product_id": "broken", "title": "Lamp", "image": "data:image/jpeg;base64,@@@"},
        {"product_id": "path", "title": "Lamp", "image": "images/p.jpg"},
    ], settings, taxonomy=set())
    try:
        outcome = checked.outcome
        accepted = outcome.accepted.set_index("product_id")
        assert "inline" in accepted.index
        reasons = dict(zip(outcome.rejected["product_id"], outcome.rejected["reasons"],
                           strict=True))
        assert any("base64" in r for r in reasons["broken"])
        assert any("api_image_root" in r for r in reasons["path"])
    finally:
        checked.close()


def test_text_that_is_not_utf8_is_named_before_anything_hashes_it():
    products = [{"product_id": "ok", "title": "Café 😀"},
                {"product_id": "p\ud800", "title": "Lamp", "colour": "Red"},
                {"product_id": "n", "title": "Hat", "extra": {"k\udc00": ["x"]}}]
    problems = unicode_problems(products)
    assert [(p["product"], p["field"]) for p in problems] == [(1, "product_id"),
                                                              (2, "k\\udc00")]
    assert problems[0]["product_id"] == "p\\ud800" and "U+D800" in problems[0]["reason"]
    assert unicode_problems(products[:1]) == []
