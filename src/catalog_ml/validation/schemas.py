"""The contract files under ``schemas/``, generated from the code that enforces them.

``schemas/tables/<name>.json`` describes each Delta table and
``schemas/expectations/product_dump.json`` the Great Expectations suite with default settings.
A test fails when the committed files and the code disagree; ``catalog-ml schemas`` rewrites them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from catalog_ml.config import Settings, project_root
from catalog_ml.lake.tables import ALL_TABLES, TableSpec


def _type_name(kind: pa.DataType) -> Any:
    if pa.types.is_list(kind):
        return {"list": _type_name(kind.value_type)}
    if pa.types.is_struct(kind):
        return {"struct": {kind.field(i).name: _type_name(kind.field(i).type)
                           for i in range(kind.num_fields)}}
    return str(kind)


def table_contract(spec: TableSpec) -> dict[str, Any]:
    return {
        "table": spec.name,
        "description": spec.description,
        "keys": list(spec.keys),
        "partition_by": list(spec.partition_by),
        "columns": [{"name": f.name, "type": _type_name(f.type), "nullable": f.nullable}
                    for f in spec.schema],
    }


def suite_contract(settings: Settings) -> dict[str, Any]:
    import great_expectations as gx

    from catalog_ml.validation.contract import load_contract
    from catalog_ml.validation.suite import build_suite

    gx.get_context(mode="ephemeral")  # GX builds suites only inside a context
    suite = build_suite(load_contract(), settings)
    return {"name": suite.name, "expectations": [
        {"type": e.expectation_type, "kwargs": {k: v for k, v in e.configuration.kwargs.items()
                                                if k != "batch_id"}, "meta": e.meta}
        for e in suite.expectations]}


def rendered_contracts(settings: Settings) -> dict[str, str]:
    """Relative path under schemas/ -> file text."""
    files = {f"tables/{name}.json": json.dumps(table_contract(spec), indent=2) + "\n"
             for name, spec in ALL_TABLES.items()}
    files["expectations/product_dump.json"] = json.dumps(
        suite_contract(settings), indent=2, ensure_ascii=False, default=str) + "\n"
    return files


def write_contracts(settings: Settings, folder: Path | None = None) -> list[Path]:
    folder = folder or project_root() / "schemas"
    written = []
    for relative, text in rendered_contracts(settings).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
