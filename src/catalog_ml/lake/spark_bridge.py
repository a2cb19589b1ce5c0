"""Spark <-> Delta without the Delta JARs: Spark reads and writes Parquet, delta-rs commits.

Read: the files of one table snapshot (one version), read by Spark with the schema from the
Delta log; partition values come from the log's add actions, never from folder names.

Write: executors write Parquet into a staging folder inside the table; the driver builds add
actions from the files' footers (and remove actions for a replaced slice) and commits them as
one Delta version. Until that commit, readers see nothing of the new files; a crash leaves only
unreferenced files that ``vacuum`` removes.

Where the tasks read and write (``Lake.executor_io``): on a local lake Spark's own Parquet
reader and writer; on an object store pyarrow filesystems inside the tasks (``mapInArrow``),
with the lake's storage options, so a cluster needs no Hadoop S3/GCS/Azure jars. The add
actions then come from what the tasks report, not from listing the staging folder, so a failed
task attempt's partial file is never committed.
"""

from __future__ import annotations

import logging
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

from catalog_ml.lake.file_stats import delta_stats
from catalog_ml.lake.files import join, open_filesystem
from catalog_ml.lake.spark import parallelism
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
        groups.setdefault(key, []).append(f"{base}/{action['path']}")
    where = dict(where or {})
    data_schema = spark_schema(_data_schema(spec))
    frames = []
    for key, files in groups.items():
        typed = dict(zip(spec.partition_by, key, strict=True))
        if any(c in where and typed[c] != where[c] for c in typed):
            continue
        frame = _read_files(spark, lake, files, data_schema)
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


def _read_files(spark: SparkSession, lake: Lake, files: list[str], data_schema: Any
                ) -> DataFrame:
    if lake.executor_io == "spark":
        return spark.read.schema(data_schema).parquet(*(spark_uri(f) for f in files))
    from pyspark.sql.pandas.types import to_arrow_schema

    target = to_arrow_schema(data_schema, timezone="UTC")
    listing = spark.createDataFrame([(f,) for f in files], "file string")
    tasks = max(1, min(len(files), parallelism(spark)))
    return listing.repartition(tasks).mapInArrow(
        _file_reader(target, lake.storage_options), data_schema)


def _file_reader(target: pa.Schema, storage_options: Mapping[str, str]) -> Any:
    """A task body: the Parquet files named in its rows, read through pyarrow, as ``target``."""
    options = dict(storage_options)
    names = target.names

    def read(batches: Any) -> Any:
        for batch in batches:
            for uri in batch.column("file").to_pylist():
                filesystem, path = open_filesystem(uri, options)
                with filesystem.open_input_file(path) as handle:
                    parquet = pq.ParquetFile(handle)
                    held = [n for n in names if n in parquet.schema_arrow.names]
                    for chunk in parquet.iter_batches(batch_size=4096, columns=held):
                        table = pa.Table.from_batches([chunk])
                        for name in names:  # a column added after this file was written
                            if name not in held:
                                table = table.append_column(
                                    name, pa.nulls(table.num_rows, target.field(name).type))
                        yield from table.select(names).cast(target).to_batches()

    return read


def _file_writer(staging: str, target: pa.Schema, storage_options: Mapping[str, str]) -> Any:
    """A task body: its rows as one Parquet file in ``staging``; yields the file's add facts."""
    options = dict(storage_options)

    def write(batches: Any) -> Any:
        writer = sink = None
        name = f"part-{uuid.uuid4().hex}.snappy.parquet"
        filesystem, base = open_filesystem(staging, options)
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                if writer is None:
                    if isinstance(filesystem, pafs.LocalFileSystem):  # object stores need none
                        filesystem.create_dir(base, recursive=True)
                    sink = filesystem.open_output_stream(f"{base}/{name}")
                    writer = pq.ParquetWriter(sink, target, compression="snappy")
                writer.write_table(pa.Table.from_batches([batch]).cast(target))
        finally:
            if writer is not None:
                writer.close()
        if writer is None or sink is None:
            return
        size = sink.tell()
        sink.close()
        metadata = writer.writer.metadata  # the footer just written: no read back
        yield pa.RecordBatch.from_pylist(
            [{"file": name, "size": size, "rows": metadata.num_rows,
              "stats": delta_stats(metadata)}],
            schema=_WRITTEN)

    return write


_WRITTEN = pa.schema([("file", pa.string()), ("size", pa.int64()), ("rows", pa.int64()),
                      ("stats", pa.string())])


def _write_files(df: DataFrame, lake: Lake, staging: str, target: pa.Schema
                 ) -> list[dict[str, Any]]:
    """Write the frame's partitions as Parquet files under ``staging``; their add facts."""
    if lake.executor_io == "arrow":
        spark_written = spark_schema(_WRITTEN)
        return [row.asDict() for row in
                df.mapInArrow(_file_writer(staging, target, lake.storage_options),
                              spark_written).collect()]
    df.write.mode("error").parquet(spark_uri(staging))
    filesystem, root = open_filesystem(staging, lake.storage_options)
    written = []
    for info in filesystem.get_file_info(pafs.FileSelector(root)):
        if not info.is_file or not info.base_name.endswith(".parquet"):
            continue
        metadata = pq.read_metadata(info.path, filesystem=filesystem)
        written.append({"file": info.base_name, "size": info.size, "rows": metadata.num_rows,
                        "stats": delta_stats(metadata)})
    return written


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
    staging = join(table_uri, staging_name)
    partition_values: dict[str, str | None] = {c: str(replace[c]) for c in spec.partition_by}
    now = int(time.time() * 1000)
    written = _write_files(df.select(*columns), lake, staging, _data_schema(spec))
    adds = [AddAction(path=f"{staging_name}/{w['file']}", size=w["size"],
                      partition_values=partition_values, modification_time=now,
                      data_change=True, stats=w["stats"])
            for w in written if w["rows"]]
    rows = sum(w["rows"] for w in written)

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
