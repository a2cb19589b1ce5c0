"""The Great Expectations suite of a dump, built from the JSON contract and the settings.

Each expectation carries in ``meta`` the field it guards and the message a person reads in the
quarantine table, so reasons stay in one place with the rule that produces them. ``gate``
expectations judge the dump as a whole: when one fails the night stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from catalog_ml.config import Settings
from catalog_ml.validation.contract import DumpContract
from catalog_ml.validation.images import OK_STATES

if TYPE_CHECKING:  # imported when a suite is built: seconds, which a night overlaps
    import great_expectations as gx

# A decimal number as text, optionally signed, with exponent; infinity is matched here so that
# the range check can name it (the message "must be finite" beats "not a number").
NUMBER = r"^\s*[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf(?:inity)?))\s*$"
PRICE_MAX = 1e12  # anything above is an export error (or infinity), not a price
CONTROL_CHARACTER = r"[\x00-\x1f\x7f]"


def _meta(field: str, message: str, gate: bool = False) -> dict[str, Any]:
    return {"field": field, "message": message, "gate": gate}


def build_suite(contract: DumpContract, settings: Settings) -> gx.ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    product_id_max = contract.prop("product_id")["maxLength"]
    expectations: list[gxe.Expectation] = [
        gxe.ExpectTableRowCountToBeBetween(
            min_value=1, meta=_meta("dump", "the dump holds no rows", gate=True)),
        *[
            gxe.ExpectColumnToExist(
                column=name, meta=_meta(name, f"required column {name!r} is missing", gate=True))
            for name in contract.required
        ],
        gxe.ExpectColumnValuesToNotBeNull(
            column="product_id", meta=_meta("product_id", "missing")),
        gxe.ExpectColumnValuesToBeUnique(
            column="product_id", meta=_meta("product_id", "duplicate within this dump")),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="product_id", max_value=product_id_max,
            meta=_meta("product_id", f"longer than {product_id_max} characters")),
        gxe.ExpectColumnValuesToNotMatchRegex(
            column="product_id", regex=CONTROL_CHARACTER,
            meta=_meta("product_id", "holds a control character")),
        gxe.ExpectColumnValuesToNotBeNull(
            column="title", meta=_meta("title", "missing or blank")),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="title", max_value=settings.max_title_chars,
            meta=_meta("title", f"longer than {settings.max_title_chars} characters")),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="description", max_value=settings.max_description_chars,
            meta=_meta("description",
                       f"longer than {settings.max_description_chars} characters")),
        gxe.ExpectColumnValuesToMatchRegex(
            column="price", regex=NUMBER, meta=_meta("price", "not a number")),
        gxe.ExpectColumnValuesToBeBetween(
            column="price_value", min_value=0, max_value=PRICE_MAX,
            meta=_meta("price", f"must be a finite number from 0 to {PRICE_MAX:,.0f}")),
        gxe.ExpectColumnValuesToNotBeNull(
            column="currency", row_condition="price.notnull()", condition_parser="pandas",
            meta=_meta("currency", "required when a price is given")),
        gxe.ExpectColumnValuesToBeInSet(
            column="currency", value_set=contract.currencies,
            meta=_meta("currency", "not an ISO 4217 currency code")),
        gxe.ExpectColumnValuesToMatchRegex(
            column="image", regex=contract.prop("image")["pattern"],
            meta=_meta("image", "must be a relative path inside the dump folder "
                                "(no '..', not absolute) or an http(s):// or s3:// URI")),
        gxe.ExpectColumnValuesToBeInSet(
            column="image_state", value_set=list(OK_STATES),
            meta=_meta("image", "image file problem")),
        gxe.ExpectColumnValuesToMatchRegex(
            column="category", regex=contract.prop("category")["pattern"],
            meta=_meta("category", "not a taxonomy path like 'Level1 > Level2'")),
        gxe.ExpectColumnValuesToBeInSet(
            column="category_path_ok", value_set=[True],
            meta=_meta("category", f"not a valid path (at most {settings.max_category_depth} "
                                   "levels, no formula or control characters)")),
        gxe.ExpectColumnValuesToBeInSet(
            column="category_known", value_set=[True],
            meta=_meta("category", "not in the lake's taxonomy; allow new categories with "
                                   "--allow-new-categories")),
    ]
    suite = gx.ExpectationSuite(name="product_dump")
    for expectation in expectations:
        suite.add_expectation(expectation)
    return suite
