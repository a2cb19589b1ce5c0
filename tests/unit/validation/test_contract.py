"""catalog_ml.validation.contract: the dump contract file as the code reads it."""

from __future__ import annotations

import json

from catalog_ml.config import project_root
from catalog_ml.validation.contract import (
    CONTRACT_FILE,
    KNOWN_COLUMNS,
    load_contract,
    schema_path,
)


def test_the_contract_names_required_columns_and_currencies_from_its_file():
    contract = load_contract()
    raw = json.loads(schema_path().read_text())
    assert contract.required == raw["required"] == ["product_id", "title"]
    assert "EUR" in contract.currencies and None not in contract.currencies
    assert contract.prop("product_id")["maxLength"] > 0
    assert set(raw["properties"]) <= set(KNOWN_COLUMNS)


def test_the_repositorys_schemas_folder_shows_the_packaged_contract():
    published = project_root() / "schemas" / CONTRACT_FILE
    assert published.read_bytes() == schema_path().read_bytes()
