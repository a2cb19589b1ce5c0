"""Delta access through delta-rs: the tables, atomic writes and the Spark bridge."""

from catalog_ml.lake.store import Lake, TableMissingError
from catalog_ml.lake.tables import ALL_TABLES, TableSpec, spec_for

__all__ = ["ALL_TABLES", "Lake", "TableMissingError", "TableSpec", "spec_for"]
