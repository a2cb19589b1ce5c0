"""Spark <-> Delta without the Delta JARs: Spark reads and writes Parquet, delta-rs commits.

Read: the files of one table snapshot (one version), read by Spark with the schema from the
Delta log; partition values come from the log's add actions, never from folder names.

Write: executors write Parquet into a staging folder inside the table; the driver reads the
footers, builds add actions (and remove actions for a replaced slice) and commits them as one
Delta version. Until that commit, readers see nothing of the new files; a crash leaves only
unreferenced files that ``vacuum`` removes.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.schema import Schema as DeltaSchema
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from catalog_ml.lake.store import Lake
from catalog_ml.lake.tables import TableSpec, spec_for

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)


def spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def spark_uri(uri: str) -> str:
    """Object-store URIs as Hadoop's S3A connector names them."""
    return "s3a://" + uri[len("s3://"):] if uri.startswith("s3://") else uri


def _data_schema(spec: TableSpec) -> pa.Schema:
    return pa.schema([f for f in spec.schema if f.name not in spec.partition_by])


def _partition_literal(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_date32(kind) and isinstance(value, str):
        import datetime as dt

        return dt.date.fromisoformat(value)
    return value


def _partition_values(action: Mapping[str, Any], spec: TableSpec) -> dict[str, Any]:
    """A file's partition values from its add action, typed as the table declares them."""
    return {c: _partition_literal(action.get(f"partition.{c}"), spec.schema.field(c).type)
            for c in spec.partition_by}


def _add_actions(table: DeltaTable) -> list[dict[str, Any]]:
    return pa.table(table.get_add_actions(flatten=True)).to_pylist()


def read_table(
    spark: SparkSession, lake: Lake, name: str, where: Mapping[str, Any] | None = None,
    version: int | None = None,
) -> DataFrame:
    """A snapshot of the table as a Spark DataFrame, optionally one partition slice."""
    from pyspark.sql import functions as F

    spec = spec_for(name)
    full_schema = spark_schema(spec.schema)
    table = lake.table_or_none(name, version=version)
    if table is None:
        return spark.createDataFrame([], full_schema)
    base = table.table_uri.rstrip("/")
    groups: dict[tuple[Any, ...], list[str]] = {}
    for action in _add_actions(table):
        key = tuple(_partition_values(action, spec).values())
        groups.setdefault(key, []).append(spark_uri(f"{base}/{action['path']}"))
    where = dict(where or {})
    data_schema = spark_schema(_data_schema(spec))
    frames = []
    for key, files in groups.items():
        typed = dict(zip(spec.partition_by, key, strict=True))
        if any(c in where and typed[c] != where[c] for c in typed):
            continue
        frame = spark.read.schema(data_schema).parquet(*files)
        for column, value in typed.items():
            frame = frame.withColumn(
                column, F.lit(value).cast(full_schema[column].dataType))
        frames.append(frame.select(*spec.schema.names))
    if not frames:
        return spark.createDataFrame([], full_schema)
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    for column, value in where.items():
        if column not in spec.partition_by:
            result = result.filter(F.col(column) == F.lit(value))
    return result


def _stats(metadata: pq.FileMetaData) -> str:
    """Delta file statistics (row count, null counts, min/max of flat columns) from a footer."""
    stats: dict[str, Any] = {"numRecords": metadata.num_rows, "nullCount": {},
                             "minValues": {}, "maxValues": {}}
    schema = metadata.schema.to_arrow_schema()
    for index, field in enumerate(schema):
        if pa.types.is_nested(field.type):
            continue
        nulls, lows, highs = 0, [], []
        for group in range(metadata.num_row_groups):
            column = metadata.row_group(group).column(index)
            if column.statistics is None:
                nulls = None
                break
            nulls += column.statistics.null_count or 0
            if column.statistics.has_min_max:
                lows.append(column.statistics.min)
                highs.append(column.statistics.max)
        if nulls is None:
            continue
        stats["nullCount"][field.name] = nulls
        finite = all(not isinstance(v, float) or math.isfinite(v) for v in lows + highs)
        if lows and finite and (pa.types.is_integer(field.type)
                                or pa.types.is_floating(field.type)
                                or pa.types.is_string(field.type)):
            stats["minValues"][field.name] = min(lows)
            stats["maxValues"][field.name] = max(highs)
    return json.dumps(stats, default=str)


def write_table(
    df: DataFrame, lake: Lake, name: str, replace: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> int:
    """Write a Spark DataFrame into the table as one Delta commit; returns rows written.

    With ``replace`` (a partition slice such as ``{"run_date": d}``) the slice's current files
    are removed in the same commit, so a rerun of a night replaces it. Partitioned tables are
    written one slice at a time: ``replace`` must name every partition column.
    """
    from pyspark.sql import functions as F

    spec = spec_for(name)
    replace = dict(replace or {})
    if spec.partition_by and set(replace) != set(spec.partition_by):
        raise ValueError(f"{name}: write one slice at a time: replace={{{spec.partition_by}}}")
    if idempotency_key and lake.already_committed(name, idempotency_key):
        log.info("%s: commit %r already done, skipped", name, idempotency_key)
        return 0

    data_schema = spark_schema(_data_schema(spec))
    columns = [F.col(f.name).cast(f.dataType).alias(f.name) for f in data_schema.fields]
    table_uri = lake.path(name)
    staging_name = f"spark-write-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    staging = f"{table_uri}/{staging_name}"
    df.select(*columns).write.mode("error").parquet(spark_uri(staging))

    filesystem, root = pafs.FileSystem.from_uri(table_uri)
    infos = filesystem.get_file_info(pafs.FileSelector(f"{root}/{staging_name}"))
    partition_values = {c: str(replace[c]) for c in spec.partition_by}
    adds: list[AddAction] = []
    rows = 0
    for info in infos:
        if not info.is_file or not info.base_name.endswith(".parquet"):
            continue
        metadata = pq.read_metadata(info.path, filesystem=filesystem)
        if metadata.num_rows == 0:
            continue
        rows += metadata.num_rows
        adds.append(AddAction(
            path=f"{staging_name}/{info.base_name}", size=info.size,
            partition_values=partition_values,
            modification_time=int(info.mtime.timestamp() * 1000) if info.mtime else 0,
            data_change=True, stats=_stats(metadata)))

    commit_properties = lake.commit_properties(idempotency_key)
    table = lake.table_or_none(name)
    if table is None:
        create_table_with_add_actions(
            table_uri, DeltaSchema.from_arrow(spec.schema), adds, mode="append",
            partition_by=list(spec.partition_by) or None,
            storage_options=lake.storage_options or None,
            commit_properties=commit_properties)
        return rows
    removes: list[RemoveAction] = []
    if replace:
        now = int(time.time() * 1000)
        wanted = {c: _partition_literal(str(v), spec.schema.field(c).type)
                  for c, v in replace.items()}
        for action in _add_actions(table):
            if _partition_values(action, spec) == wanted:
                removes.append(RemoveAction(
                    path=action["path"], data_change=True, deletion_timestamp=now,
                    size=action["size_bytes"], partition_values=partition_values))
    if not adds and not removes:
        return 0
    table.create_write_transaction(
        [*removes, *adds], mode="append", schema=spec.schema,
        partition_by=list(spec.partition_by) or None, commit_properties=commit_properties)
    log.info("%s: committed %d files (%d rows), removed %d files", name, len(adds), rows,
             len(removes))
    return rows
