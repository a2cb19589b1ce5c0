"""Atomic table operations on the lake through delta-rs.

Each public method is one Delta commit: readers see the table before or after it, never half of
it. Writes that a retry might repeat take an ``idempotency_key``: the commit records it as a
Delta app transaction, and a second commit with the same key is skipped, so an Airflow retry
after a crash between "commit" and "task success" does not write twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import TableNotFoundError

from catalog_ml.config import Settings
from catalog_ml.errors import ConfigError, LakeNotFoundError, describe_os_error
from catalog_ml.lake.files import delta_options, open_filesystem, subtree
from catalog_ml.lake.lock import writer_lock
from catalog_ml.lake.tables import ALL_TABLES, conform, spec_for
from catalog_ml.lake.view_types import (
    conjunction,
    is_text,
    is_view_kernel_error,
    read_filtering_text_late,
)

log = logging.getLogger(__name__)


def sql_literal(value: Any) -> str:
    """A value as a delta-rs (DataFusion) SQL literal; dates and text are quoted safely."""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"'{value.isoformat()}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def equals_predicate(match: Mapping[str, Any]) -> str:
    return " AND ".join(f"{column} = {sql_literal(value)}" for column, value in match.items())


def _app_transaction(idempotency_key: str) -> tuple[str, int]:
    """Map a free-text key to a Delta app id and a positive version."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"catalog-ml-{digest[:24]}", int(digest[24:36], 16) + 1


class Lake:
    """One lake root holding the named tables; local folder or object-store URI."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        return cls(settings.lake, settings.storage_options,
                   lock_timeout_s=settings.lake_lock_timeout_s, spark_io=settings.spark_io)

    def __init__(self, root: str, storage_options: Mapping[str, str] | None = None,
                 lock_timeout_s: float = 300.0, spark_io: str = "auto") -> None:
        if "://" not in root:
            root = str(Path(root).expanduser().resolve())
        self.root = root.rstrip("/")
        self.storage_options = delta_options(storage_options or {})
        self.lock_timeout_s = lock_timeout_s
        self.spark_io = spark_io

    @property
    def is_local(self) -> bool:
        return "://" not in self.root or self.root.startswith("file://")

    @property
    def executor_io(self) -> str:
        """How Spark tasks read and write table files: ``spark`` (Spark's own Parquet reader
        and writer, local folders or a cluster with its own connectors) or ``arrow`` (pyarrow
        filesystems inside the tasks: object stores with no Hadoop jars)."""
        if self.spark_io != "auto":
            return self.spark_io
        return "spark" if self.is_local else "arrow"

    # ---------------------------------------------------------------- the lake as a whole
    def _check_local_root(self) -> Path | None:
        if not self.is_local:
            return None
        root = Path(self.root.removeprefix("file://"))
        if root.exists() and not root.is_dir():
            raise ConfigError(f"setting 'lake': {root} is a file, not a folder")
        return root

    def initialised(self) -> bool:
        """Whether any catalog-ml table lives here (a lake's first night creates them all)."""
        root = self._check_local_root()
        if root is not None and not root.is_dir():
            return False
        return any(DeltaTable.is_deltatable(self.path(name), self.storage_options or None)
                   for name in ALL_TABLES)

    def require(self) -> Lake:
        """This lake, or LakeNotFoundError when nothing was ever written here (a typo)."""
        if not self.initialised():
            raise LakeNotFoundError(
                f"no catalog-ml lake at {self.root}: no tables there; check --lake or "
                "CATALOG_ML_LAKE (a lake is created by its first `catalog-ml nightly`)")
        return self

    @contextlib.contextmanager
    def writer(self, purpose: str) -> Iterator[Lake]:
        """Hold the lake's single-writer lock, with every table present, for the block."""
        root = self._check_local_root()
        if root is not None:
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise describe_os_error(exc, "cannot create the lake folder") from None
        with writer_lock(self.root, self.storage_options, purpose, self.lock_timeout_s,
                         local=self.is_local) as taken:
            if taken:  # an inner writer of the same process found them made already
                self.ensure_tables()
            yield self

    def ensure_tables(self) -> list[str]:
        """Create every missing table, empty, with its schema and partitioning; add to an
        older table the (nullable) columns a newer catalog-ml declares, in one commit each."""
        created = []
        for name, spec in ALL_TABLES.items():
            if DeltaTable.is_deltatable(self.path(name), self.storage_options or None):
                self._add_new_columns(name)
                continue
            DeltaTable.create(self.path(name), spec.schema, mode="ignore",
                              partition_by=list(spec.partition_by) or None,
                              storage_options=self.storage_options or None,
                              name=name, description=spec.description[:200] or None)
            created.append(name)
        if created:
            log.info("lake %s: created tables %s", self.root, ", ".join(created))
        return created

    def _add_new_columns(self, name: str) -> None:
        from deltalake.schema import Schema

        spec = spec_for(name)
        table = self.table(name)
        present = set(table.schema().to_arrow().names)
        missing = [f for f in spec.schema if f.name not in present]
        if not missing:
            return
        added = Schema.from_arrow(pa.schema(missing)).fields
        table.alter.add_columns(list(added))
        log.info("lake %s: table %s gained column(s) %s", self.root, name,
                 ", ".join(f.name for f in missing))

    # ---------------------------------------------------------------- locations and reads
    def path(self, name: str) -> str:
        spec_for(name)
        return f"{self.root}/{name}"

    def file_path(self, *parts: str) -> str:
        """A plain file location under the lake (reports, artifacts, staging)."""
        return "/".join([self.root, *parts])

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        """The filesystem holding the lake and the lake root's path on it."""
        return open_filesystem(self.root, self.storage_options)

    def write_file(self, relative: str, payload: bytes) -> str:
        filesystem, root = self.filesystem()
        path = f"{root}/{relative}"
        filesystem.create_dir(path.rsplit("/", 1)[0], recursive=True)
        with filesystem.open_output_stream(path) as handle:
            handle.write(payload)
        return self.file_path(relative)

    def read_file(self, relative: str) -> bytes:
        filesystem, root = self.filesystem()
        with filesystem.open_input_stream(f"{root}/{relative}") as handle:
            return handle.read()

    def file_exists(self, relative: str) -> bool:
        filesystem, root = self.filesystem()
        return filesystem.get_file_info(f"{root}/{relative}").type != pafs.FileType.NotFound

    def table(self, name: str, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(self.path(name), version=version,
                              storage_options=self.storage_options or None)
        except TableNotFoundError:
            raise TableMissingError(name, self.path(name)) from None

    def table_or_none(self, name: str, version: int | None = None) -> DeltaTable | None:
        """The table, or None where it was never written: one log load either way."""
        try:
            return self.table(name, version=version)
        except TableMissingError:
            return None

    def exists(self, name: str) -> bool:
        return self.table_or_none(name) is not None

    def version(self, name: str) -> int | None:
        table = self.table_or_none(name)
        return None if table is None else table.version()

    def dataset(self, table: DeltaTable) -> Any:
        """A table snapshot as a pyarrow dataset, read through pyarrow's own filesystem: with
        delta-rs' Python file handler the interpreter aborted at exit ("terminate called
        without an active exception", exit 134) in 7 of 12 runs that had read a local table,
        and about 1 in 8 on S3; with pyarrow's, never."""
        return table.to_pyarrow_dataset(
            filesystem=subtree(table.table_uri, self.storage_options))

    def read(
        self,
        name: str,
        where: Mapping[str, Any] | None = None,
        columns: list[str] | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """The table (optionally one slice, some columns) as Arrow; empty when it has no table.

        ``where`` maps a column to a value, or to a collection of values (a set or list: any
        of them); the filter is pushed into the Parquet scan, so only those rows are read
        (text conditions on MERGE-written files are applied just after it: ``view_types``)."""
        spec = spec_for(name)
        table = self.table_or_none(name, version=version)
        if table is None:
            schema = spec.schema if columns is None else pa.schema(
                [spec.schema.field(c) for c in columns])
            return schema.empty_table()
        dataset = self.dataset(table)
        terms = {}
        for column, value in (where or {}).items():
            kind = spec.schema.field(column).type
            field = pa.compute.field(column)
            terms[column] = (field.isin(pa.array(sorted(value), kind))
                             if isinstance(value, set | frozenset | list | tuple)
                             else field == pa.scalar(value, kind))
        try:
            result = dataset.to_table(columns=columns, filter=conjunction(list(terms.values())))
        except pa.ArrowNotImplementedError as exc:
            if not is_view_kernel_error(exc):
                raise
            text = {c for c in terms if is_text(spec.schema.field(c).type)}
            late = conjunction([terms[c] for c in text])
            if late is None:
                raise
            log.debug("%s: text filter applied after the scan (string-view files)", name)
            result = read_filtering_text_late(
                dataset, columns, conjunction([t for c, t in terms.items() if c not in text]),
                late, text)
        return conform(result, spec) if columns is None else result

    def partition_values(self, name: str, column: str) -> list[Any]:
        """The distinct values of a partition column that hold rows now, sorted, from the
        Delta log alone: no data file is read (a night's classify asks which nights exist)."""
        table = self.table_or_none(name)
        if table is None:
            return []
        kind = spec_for(name).schema.field(column).type
        actions = pa.table(table.get_add_actions(flatten=True))
        key = f"partition.{column}"
        if key not in actions.column_names:
            return []
        counts = (actions.column("num_records").to_pylist() if "num_records" in
                  actions.column_names else [None] * actions.num_rows)
        values = {v for v, n in zip(actions.column(key).to_pylist(), counts, strict=True)
                  if v is not None and n != 0}  # an empty file holds no night
        if pa.types.is_date32(kind):
            values = {dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values}
        return sorted(values)

    def count_rows(self, name: str, match: Mapping[str, Any]) -> int | None:
        """Rows in the partition slice ``match`` from the Delta log's file statistics (no data
        file is read); None when a file has no row count."""
        table = self.table_or_none(name)
        if table is None:
            return 0
        actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
        total = 0
        for action in actions:
            if all(str(action.get(f"partition.{c}")) == str(v) for c, v in match.items()):
                if action.get("num_records") is None:
                    return None
                total += int(action["num_records"])
        return total

    # ---------------------------------------------------------------- writes (one commit each)
    def commit_properties(self, idempotency_key: str | None) -> CommitProperties | None:
        if idempotency_key is None:
            return None
        app_id, version = _app_transaction(idempotency_key)
        return CommitProperties(
            app_transactions=[Transaction(app_id=app_id, version=version)],
            custom_metadata={"catalog_ml.key": idempotency_key},
        )

    def already_committed(self, name: str, idempotency_key: str) -> bool:
        table = self.table_or_none(name)
        if table is None:
            return False
        app_id, version = _app_transaction(idempotency_key)
        committed = table.transaction_version(app_id)
        return committed is not None and committed >= version

    def append(self, name: str, data: pa.Table, idempotency_key: str | None = None) -> bool:
        """Append rows in one commit; False when the key was committed before (nothing done)."""
        spec = spec_for(name)
        if idempotency_key and self.already_committed(name, idempotency_key):
            log.info("%s: commit %r already done, skipped", name, idempotency_key)
            return False
        write_deltalake(
            self.path(name), conform(data, spec), mode="append",
            partition_by=list(spec.partition_by) or None,
            storage_options=self.storage_options or None,
            commit_properties=self.commit_properties(idempotency_key),
        )
        return True

    def replace_slice(
        self, name: str, data: pa.Table, match: Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> None:
        """Replace every row matching ``match`` (e.g. one night) by ``data``, in one commit.

        Rows of ``data`` must themselves match, or a rerun would not replace them.
        """
        spec = spec_for(name)
        data = conform(data, spec)
        for column, value in match.items():
            values = set(data.column(column).to_pylist())
            if values - {value}:
                raise ValueError(f"{name}: rows outside the slice {column}={value!r}: {values}")
        if data.num_rows == 0:
            self.delete(name, match)  # the slice is now empty: a rerun must not keep old rows
            return
        if not self.exists(name):
            self.append(name, data, idempotency_key)
            return
        write_deltalake(
            self.path(name), data, mode="overwrite", predicate=equals_predicate(match),
            partition_by=list(spec.partition_by) or None,
            storage_options=self.storage_options or None,
            commit_properties=self.commit_properties(idempotency_key),
        )

    def upsert(
        self, name: str, data: pa.Table, update_condition: str | None = None,
        updates: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Insert new keys and update existing ones in one MERGE commit.

        ``update_condition`` (SQL over ``s.`` source and ``t.`` target) limits which matches are
        updated; ``updates`` overrides the expression per column (default: the source value).
        """
        spec = spec_for(name)
        data = conform(data, spec)
        keys = set(zip(*(data.column(k).to_pylist() for k in spec.keys), strict=True))
        if len(keys) != len(data):
            raise ValueError(f"{name}: the rows to upsert repeat a key {spec.keys}")
        table = self.table_or_none(name)
        if table is None:
            self.append(name, data)
            return {"num_target_rows_inserted": data.num_rows}
        on = " AND ".join(f"t.{k} = s.{k}" for k in spec.keys)
        column_updates = {c: f"s.{c}" for c in spec.schema.names}
        column_updates.update(updates or {})
        return (
            table
            .merge(data, predicate=on, source_alias="s", target_alias="t")
            .when_matched_update(updates=column_updates, predicate=update_condition)
            .when_not_matched_insert_all()
            .execute()
        )

    def delete(self, name: str, match: Mapping[str, Any]) -> None:
        table = self.table_or_none(name)
        if table is not None:
            table.delete(equals_predicate(match))


class TableMissingError(ConfigError, LookupError):
    def __init__(self, name: str, path: str) -> None:
        super().__init__(f"table {name!r} does not exist yet at {path}")
        self.name = name

