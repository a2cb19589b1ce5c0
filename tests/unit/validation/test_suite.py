"""catalog_ml.validation.suite: the Great Expectations suite built from the contract."""

from __future__ import annotations

import pytest

from catalog_ml.config import load_settings
from catalog_ml.validation.contract import load_contract
from catalog_ml.validation.suite import build_suite


@pytest.fixture(autouse=True)
def gx_context():
    """A suite is built inside a GX context, as the validator makes one."""
    import great_expectations as gx

    return gx.get_context(mode="ephemeral")


def _by_type(suite) -> dict[str, list]:
    found: dict[str, list] = {}
    for expectation in suite.expectations:
        found.setdefault(type(expectation).__name__, []).append(expectation)
    return found


def test_gate_expectations_stop_the_night_and_row_expectations_name_a_field():
    suite = build_suite(load_contract(), load_settings())
    for expectation in suite.expectations:
        assert expectation.meta["field"] and expectation.meta["message"]
    gates = {e.meta["field"] for e in suite.expectations if e.meta["gate"]}
    assert {"dump", "product_id", "title"} <= gates
    kinds = _by_type(suite)
    assert "ExpectColumnValuesToBeUnique" in kinds and "ExpectColumnValuesToMatchRegex" in kinds


def test_settings_shape_the_suite():
    small = build_suite(load_contract(), load_settings(max_title_chars=50))
    large = build_suite(load_contract(), load_settings(max_title_chars=5000))
    assert small.to_json_dict() != large.to_json_dict()
