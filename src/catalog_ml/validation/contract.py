"""The dump contract (schemas/product_dump.schema.json) as the rest of the code needs it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from catalog_ml.config import project_root

CONTRACT_FILE = "product_dump.schema.json"
KNOWN_COLUMNS = ("product_id", "title", "description", "price", "currency", "brand", "image",
                 "category")


def _schema_path() -> Path:
    return project_root() / "schemas" / CONTRACT_FILE


@dataclass(frozen=True)
class DumpContract:
    raw: dict[str, Any]

    @property
    def required(self) -> list[str]:
        return list(self.raw["required"])

    def prop(self, name: str) -> dict[str, Any]:
        return dict(self.raw["properties"][name])

    @property
    def currencies(self) -> list[str]:
        return [c for c in self.prop("currency")["enum"] if c is not None]


@cache
def load_contract() -> DumpContract:
    with open(_schema_path(), encoding="utf-8") as handle:
        return DumpContract(json.load(handle))
