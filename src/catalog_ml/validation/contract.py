"""The dump contract as the rest of the code needs it.

The JSON schema ships inside the package (an installed wheel validates dumps anywhere);
``schemas/product_dump.schema.json`` in the repository links to the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CONTRACT_FILE = "product_dump.schema.json"
KNOWN_COLUMNS = ("product_id", "title", "description", "price", "currency", "brand", "image",
                 "category")


def schema_path() -> Path:
    return Path(__file__).with_name(CONTRACT_FILE)


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
    with open(schema_path(), encoding="utf-8") as handle:
        return DumpContract(json.load(handle))
