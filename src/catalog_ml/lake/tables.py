"""The Delta tables of the lake: names, Arrow schemas, partitioning and keys.

These are contracts that users query every morning: extend them (new nullable columns), never
rename or retype. ``schemas/tables/*.json`` is generated from here (``catalog-ml schemas``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

DATE = pa.date32()
TIMESTAMP = pa.timestamp("us", tz="UTC")
VECTOR = pa.list_(pa.float32())


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    keys: tuple[str, ...]
    partition_by: tuple[str, ...] = ()
    description: str = ""


_PRODUCT_CONTENT = [
    pa.field("product_id", pa.string(), nullable=False),
    pa.field("title", pa.string(), nullable=False),
    pa.field("description", pa.string()),
    pa.field("brand", pa.string()),
    pa.field("price", pa.float64()),
    pa.field("currency", pa.string()),
    pa.field("image", pa.string()),
    pa.field("image_uri", pa.string()),
    pa.field("category", pa.string()),
    pa.field("attributes", pa.string()),
    pa.field("content_hash", pa.string(), nullable=False),
]

PRODUCT_SNAPSHOTS = TableSpec(
    name="product_snapshots",
    schema=pa.schema(
        [pa.field("dump_date", DATE, nullable=False), *_PRODUCT_CONTENT,
         pa.field("source_row", pa.int64())]
    ),
    keys=("dump_date", "product_id"),
    partition_by=("dump_date",),
    description="Every valid row of every night, as received (typed). A night's slice is "
    "replaced on rerun; it is what that night classifies.",
)

PRODUCTS = TableSpec(
    name="products",
    schema=pa.schema(
        [*_PRODUCT_CONTENT,
         pa.field("first_seen", DATE, nullable=False),
         pa.field("last_seen", DATE, nullable=False),
         pa.field("dump_date", DATE, nullable=False)]
    ),
    keys=("product_id",),
    description="Current state per product: content of the latest dump that held it.",
)

QUARANTINE = TableSpec(
    name="quarantine",
    schema=pa.schema(
        [
            pa.field("dump_date", DATE, nullable=False),
            pa.field("source_row", pa.int64(), nullable=False),
            pa.field("product_id", pa.string()),
            pa.field("reasons", pa.list_(pa.string()), nullable=False),
            pa.field("raw_record", pa.string(), nullable=False),
            pa.field("source_file", pa.string()),
            pa.field("quarantined_at", TIMESTAMP),
        ]
    ),
    keys=("dump_date", "source_row"),
    partition_by=("dump_date",),
    description="Every rejected row with its raw record and all its reasons. source_row is "
                "where the record sits in its file: the line of a JSONL file, the record "
                "after a CSV's header (1 = the first; a quoted newline starts no record), "
                "the row of a Parquet file.",
)

EMBEDDINGS = TableSpec(
    name="embeddings",
    schema=pa.schema(
        [
            pa.field("product_id", pa.string(), nullable=False),
            pa.field("content_hash", pa.string(), nullable=False),
            pa.field("encoder_version", pa.string(), nullable=False),
            pa.field("text_vector", VECTOR),
            pa.field("image_vector", VECTOR),
            pa.field("image_status", pa.string()),
            pa.field("dump_date", DATE),
            pa.field("embedded_at", TIMESTAMP),
        ]
    ),
    keys=("product_id", "content_hash", "encoder_version"),
    description="Text and image vectors per product content and encoder version.",
)

LABELS = TableSpec(
    name="labels",
    schema=pa.schema(
        [
            pa.field("product_id", pa.string(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("dump_date", DATE, nullable=False),
            pa.field("content_hash", pa.string()),
            pa.field("labelled_at", TIMESTAMP),
        ]
    ),
    keys=("product_id", "source", "dump_date"),
    description="Known categories per product, with where they came from and when.",
)

CLASSIFICATIONS = TableSpec(
    name="classifications",
    schema=pa.schema(
        [
            pa.field("run_date", DATE, nullable=False),
            pa.field("product_id", pa.string(), nullable=False),
            pa.field("content_hash", pa.string()),
            pa.field("category", pa.string(), nullable=False),
            pa.field("confidence", pa.float64(), nullable=False),
            pa.field(
                "top_k",
                pa.list_(pa.struct([("category", pa.string()), ("confidence", pa.float64())])),
            ),
            pa.field("model_version", pa.string(), nullable=False),
            pa.field("needs_review", pa.bool_(), nullable=False),
            pa.field(
                "modality_weights",
                pa.struct([("text", pa.float64()), ("image", pa.float64()),
                           ("price", pa.float64())]),
            ),
            pa.field("classified_at", TIMESTAMP),
            pa.field("decided_by", pa.string()),  # "model", or the analyst rule's id
        ]
    ),
    keys=("run_date", "product_id"),
    partition_by=("run_date",),
    description="One row per valid product and night: category path, confidence, top-k.",
)

MODELS = TableSpec(
    name="models",
    schema=pa.schema(
        [
            pa.field("version", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("created_at", TIMESTAMP, nullable=False),
            pa.field("promoted_at", TIMESTAMP),
            pa.field("artifact_path", pa.string(), nullable=False),
            pa.field("metrics", pa.string()),
            pa.field("n_train", pa.int64()),
            pa.field("n_classes", pa.int64()),
            pa.field("encoder_version", pa.string(), nullable=False),
            pa.field("label_snapshot", pa.string()),
            pa.field("artifact_sha256", pa.string()),
        ]
    ),
    keys=("version",),
    description="The model registry: every version with its metrics and status. "
                "artifact_path is relative to the lake root; artifact_sha256 is checked on "
                "every load.",
)

LABEL_SNAPSHOT = "labels@v{version}"  # models.label_snapshot: the labels version trained on


def label_snapshot(version: int | None) -> str:
    return LABEL_SNAPSHOT.format(version=version)


def label_snapshot_version(text: str | None) -> int | None:
    """The labels version a ``models.label_snapshot`` names, or None for anything else."""
    prefix = LABEL_SNAPSHOT.split("{", 1)[0]
    if not text or not text.startswith(prefix) or not text[len(prefix):].isdigit():
        return None
    return int(text[len(prefix):])


MODEL_COMPARISONS = TableSpec(
    name="model_comparisons",
    schema=pa.schema(
        [
            pa.field("challenger", pa.string(), nullable=False),
            pa.field("champion", pa.string(), nullable=False),
            pa.field("compared_at", TIMESTAMP, nullable=False),
            pa.field("products", pa.int64(), nullable=False),
            pa.field("split", pa.string(), nullable=False),
            pa.field("challenger_score", pa.float64()),
            pa.field("champion_score", pa.float64()),
            pa.field("margin", pa.float64(), nullable=False),
            pa.field("challenger_wins", pa.bool_(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),
            pa.field("details", pa.string()),
        ]
    ),
    keys=("challenger", "champion"),
    description="A/B of a challenger against the champion on the same held-out products.",
)

REPORT_INVENTORY = TableSpec(
    name="report_inventory",
    schema=pa.schema(
        [
            pa.field("run_date", DATE, nullable=False),
            pa.field("level", pa.int32(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("products", pa.int64(), nullable=False),
            pa.field("new", pa.int64(), nullable=False),
            pa.field("changed", pa.int64(), nullable=False),
            pa.field("removed", pa.int64(), nullable=False),
            pa.field("needs_review", pa.int64(), nullable=False),
            pa.field("needs_review_share", pa.float64()),
            pa.field("previous_night", DATE),
        ]
    ),
    keys=("run_date", "level", "category"),
    partition_by=("run_date",),
    description="Per night, category path and level: products, new / changed / removed since "
                "the previous night, and how many need review.",
)

REPORT_PRICING = TableSpec(
    name="report_pricing",
    schema=pa.schema(
        [
            pa.field("run_date", DATE, nullable=False),
            pa.field("level", pa.int32(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("currency", pa.string(), nullable=False),
            pa.field("priced", pa.int64(), nullable=False),
            pa.field("median", pa.float64(), nullable=False),
            pa.field("q1", pa.float64(), nullable=False),
            pa.field("q3", pa.float64(), nullable=False),
            pa.field("min", pa.float64(), nullable=False),
            pa.field("max", pa.float64(), nullable=False),
            pa.field("anomalies", pa.int64(), nullable=False),
        ]
    ),
    keys=("run_date", "level", "category", "currency"),
    partition_by=("run_date",),
    description="Per night, category and currency: price count, median, quartiles, min, max.",
)

PRICE_ANOMALIES = TableSpec(
    name="price_anomalies",
    schema=pa.schema(
        [
            pa.field("run_date", DATE, nullable=False),
            pa.field("product_id", pa.string(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("price", pa.float64(), nullable=False),
            pa.field("currency", pa.string(), nullable=False),
            pa.field("reference_category", pa.string(), nullable=False),
            pa.field("reference_products", pa.int64(), nullable=False),
            pa.field("reference_median", pa.float64(), nullable=False),
            pa.field("ratio", pa.float64(), nullable=False),
            pa.field("score", pa.float64(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),
        ]
    ),
    keys=("run_date", "product_id"),
    partition_by=("run_date",),
    description="Products whose price is implausible for their predicted category, with a "
                "robust score (log-price distance to the category median in MADs).",
)

REASON_COUNT = pa.struct([pa.field("reason", pa.string()), pa.field("count", pa.int64())])

REPORT_QUALITY = TableSpec(
    name="report_quality",
    schema=pa.schema(
        [
            pa.field("run_date", DATE, nullable=False),
            pa.field("previous_night", DATE),
            pa.field("rows_received", pa.int64(), nullable=False),
            pa.field("rows_valid", pa.int64(), nullable=False),
            pa.field("quarantined", pa.int64(), nullable=False),
            pa.field("quarantine_reasons", pa.list_(REASON_COUNT)),
            pa.field("share_with_image", pa.float64()),
            pa.field("share_with_price", pa.float64()),
            pa.field("share_with_description", pa.float64()),
            pa.field("classified", pa.int64(), nullable=False),
            pa.field("mean_confidence", pa.float64()),
            pa.field("needs_review_share", pa.float64()),
            pa.field("category_drift", pa.float64()),
            pa.field("category_changes", pa.int64()),
            pa.field("model_versions", pa.list_(pa.string())),
        ]
    ),
    keys=("run_date",),
    partition_by=("run_date",),
    description="One row per night: can we trust tonight's data and tonight's model? Drift is "
                "the Jensen-Shannon divergence (base 2) of the leaf category mix against the "
                "previous night.",
)

CATEGORY_CHANGES = TableSpec(
    name="category_changes",
    schema=pa.schema(
        [
            pa.field("run_date", DATE, nullable=False),
            pa.field("product_id", pa.string(), nullable=False),
            pa.field("previous_category", pa.string(), nullable=False),
            pa.field("category", pa.string(), nullable=False),
            pa.field("confidence", pa.float64()),
            pa.field("previous_model_version", pa.string()),
            pa.field("model_version", pa.string()),
            pa.field("content_changed", pa.bool_()),
        ]
    ),
    keys=("run_date", "product_id"),
    partition_by=("run_date",),
    description="Products whose category differs from the previous night's.",
)

REPORT_TABLES = ("report_inventory", "report_pricing", "price_anomalies", "report_quality",
                 "category_changes")

RULES = TableSpec(
    name="rules",
    schema=pa.schema(
        [
            pa.field("rule_id", pa.string(), nullable=False),
            pa.field("field", pa.string(), nullable=False),  # title | brand | attributes | any
            pa.field("pattern", pa.string(), nullable=False),  # a case-insensitive regex
            pa.field("category", pa.string(), nullable=False),
            pa.field("priority", pa.int64(), nullable=False),  # the highest matching rule wins
            pa.field("author", pa.string()),
            pa.field("created_at", TIMESTAMP),
        ]
    ),
    keys=("rule_id",),
    partition_by=(),
    description="Analyst rules: a pattern over title, brand or attributes that decides the "
                "category before the model does.",
)

ALL_TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (PRODUCT_SNAPSHOTS, PRODUCTS, QUARANTINE, EMBEDDINGS, LABELS, CLASSIFICATIONS,
                 MODELS, MODEL_COMPARISONS, REPORT_INVENTORY, REPORT_PRICING, PRICE_ANOMALIES,
                 REPORT_QUALITY, CATEGORY_CHANGES, RULES)
}


def spec_for(name: str) -> TableSpec:
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; tables: {sorted(ALL_TABLES)}") from None


def conform(table: pa.Table, spec: TableSpec) -> pa.Table:
    """Order and cast columns to the spec; a missing required column is an error naming it."""
    columns = []
    for spec_field in spec.schema:
        if spec_field.name in table.column_names:
            columns.append(table.column(spec_field.name).cast(spec_field.type))
        elif spec_field.nullable:
            columns.append(pa.nulls(table.num_rows, spec_field.type))
        else:
            raise ValueError(f"table {spec.name}: column {spec_field.name!r} is missing")
    return pa.Table.from_arrays(columns, schema=spec.schema)
