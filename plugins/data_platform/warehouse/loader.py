"""One warehouse load: lake Parquet files -> staging table -> target, in ONE transaction.

Steps (all on one connection):

1. create the audit table and the target from ``include/warehouse/tables/`` if missing, in a
   transaction of their own serialised across sessions (``merge.ddl_lock_sql``): parallel loads
   (a backfill's runs, two DAGs sharing a schema) would otherwise race on the catalog before any
   table lock is possible; the statements are idempotent, so committing them alone is safe;
2. in one transaction, committed together or rolled back together (steps 2-6): ``LOCK`` the target (concurrent loads of one table queue up);
3. ``append`` only: skip files already recorded in ``dp_audit.load_log`` for this table;
4. create the temp staging table ``stage_<table>`` shaped after the files, bulk-load it
   (Redshift ``COPY`` from a manifest / PostgreSQL ``COPY FROM STDIN``);
5. apply the mode: ``merge`` (delete / update / insert by key, latest change per key when
   ``order_by`` is given; with deletes and ``order_by`` the deleted keys' ordering values stay in
   ``<table>__tombstones``, so an older upsert never re-inserts a deleted key), ``append``, ``replace`` (one partition value), ``snapshot`` (the
   whole table becomes the files' rows, e.g. after a CDC full load), or ``procedure``
   (``CALL schema.proc(...)`` that reads ``stage_<table>`` itself);
6. record the files in ``dp_audit.load_log``; commit.

Reruns leave the same table state: merge, replace and snapshot are idempotent by construction, append
skips files it has already loaded (recorded in the same transaction as the rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from data_platform.lake.storage import LakeFile
from data_platform.warehouse import bulk_copy, fit, merge
from data_platform.warehouse.connection import table_columns
from data_platform.warehouse.staging import StagingColumn, common_schema, create_stage_sql, staging_columns
from data_platform.warehouse.tables import TableName, identifier, procedure_file, quote, table_ddl_file
from data_platform.warehouse.translate import for_dialect

MODES = ("merge", "append", "replace", "snapshot", "procedure")
NEW_COLUMN_POLICIES = ("fail", "add")
LOAD_LOG = TableName("dp_audit", "load_log")


@dataclass(frozen=True)
class LoadSpec:
    """What to load and how; validated on creation (so DAG authors see mistakes at parse time)."""

    table: TableName
    mode: str = "merge"
    primary_key: tuple[str, ...] = ()
    delete_column: str | None = None
    delete_value: Any = "D"
    order_by: tuple[str, ...] = ()
    partition_column: str | None = None
    partition_value: Any = None
    procedure: TableName | None = None
    procedure_args: tuple[Any, ...] = ()
    create_table: bool = True
    new_columns: str = "fail"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode={self.mode!r} is not one of {MODES}.")
        if self.new_columns not in NEW_COLUMN_POLICIES:
            raise ValueError(f"new_columns={self.new_columns!r} is not one of {NEW_COLUMN_POLICIES}.")
        if self.mode == "merge" and not self.primary_key:
            raise ValueError(f"mode='merge' into {self.table} needs primary_key=[...].")
        if self.mode != "merge" and (self.delete_column or self.order_by):
            raise ValueError("delete_column and order_by only apply to mode='merge'.")
        if self.mode == "replace" and not self.partition_column:
            raise ValueError(
                "mode='replace' needs partition_column (and partition_value, e.g. the day of data_platform.intervals.run_day handed on through XCom)."
            )
        if self.mode == "procedure" and self.procedure is None:
            raise ValueError("mode='procedure' needs procedure='schema.procedure_name'.")
        if self.mode != "procedure" and self.procedure is not None:
            raise ValueError("procedure= is only used with mode='procedure'.")


@dataclass
class LoadResult:
    """Metrics of one load (pushed to XCom by ``LoadToWarehouseOperator``).

    ``rows_in``: rows staged from the files; ``rows_out``: rows written to the target
    (inserted + updated; for ``procedure`` the net change of the target's row count).
    """

    table: str
    mode: str
    rows_in: int = 0
    rows_out: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    files_loaded: int = 0
    files_skipped: int = 0
    loaded_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    task_id: str
    run_id: str


def ddl_statements(path: Path, dialect: str) -> list[str]:
    """The statements of the DDL file ``path`` in ``dialect``; raises FileNotFoundError naming
    the file and the fix when it is missing (a skipped DDL only surfaces later as PostgreSQL's
    'relation does not exist')."""
    if not path.is_file():
        raise FileNotFoundError(
            f"warehouse DDL file {path} does not exist: add it (one idempotent file per table or "
            "procedure in include/warehouse/tables|procedures/, named <schema>.<name>.sql), fix "
            "the table or procedure name, or load with create_table=False into an existing table."
        )
    return for_dialect(path.read_text(), dialect)


class WarehouseLoader:
    """Runs :class:`LoadSpec` loads on an open DB-API connection (PostgreSQL or Redshift).

    On Redshift the files are read by ``COPY`` through ``manifest_uri`` (written to S3 first)
    with ``copy_role_arn``; on PostgreSQL they are streamed from the lake by this process.
    """

    def __init__(
        self,
        connection: Any,
        dialect: str,
        *,
        copy_role_arn: str | None = None,
        manifest_uri: str | None = None,
    ) -> None:
        if dialect == "redshift" and not manifest_uri:
            raise ValueError("Loads into Redshift need a manifest_uri to write the COPY manifest to.")
        self.connection = connection
        self.dialect = dialect
        self.copy_role_arn = copy_role_arn
        self.manifest_uri = manifest_uri
        self._uris: list[str] = []

    def load(self, spec: LoadSpec, files: Sequence[LakeFile], run: RunInfo) -> LoadResult:
        result = LoadResult(table=str(spec.table), mode=spec.mode)
        files = list(files)
        if not files:
            return result
        columns = staging_columns(common_schema([f.uri for f in files]), self.dialect)
        try:
            with closing(self.connection.cursor()) as cursor:
                self._create_objects(cursor, spec)
                for statement in merge.session_sql(self.dialect):
                    cursor.execute(statement)
                cursor.execute(merge.lock_sql(spec.table, self.dialect))
                target_types = dict(table_columns(cursor, spec.table))
                if spec.mode == "append":
                    done = self._already_loaded(cursor, spec.table, files)
                    result.files_skipped = len(done)
                    files = [f for f in files if f.uri not in done]
                if files:
                    self._uris = [f.uri for f in files]
                    self._stage(cursor, spec.table.stage, columns, files)
                    self._apply(cursor, spec, columns, target_types, result)
                    self._record(cursor, spec, files, run)
            self.connection.commit()
        except BaseException:
            self.connection.rollback()
            raise
        result.files_loaded = len(files)
        result.loaded_files = [f.uri for f in files]
        return result

    def _create_objects(self, cursor: Any, spec: LoadSpec) -> None:
        """Step 1 (see the module docstring): the DDL under the DDL lock, committed."""
        ddl_lock = merge.ddl_lock_sql(self.dialect)
        if ddl_lock is not None:
            cursor.execute(ddl_lock)
        for statement in self._ddl(spec):
            cursor.execute(statement)
        self.connection.commit()

    def _ddl(self, spec: LoadSpec) -> list[str]:
        statements = ddl_statements(table_ddl_file(LOAD_LOG), self.dialect)
        if spec.create_table:
            statements += ddl_statements(table_ddl_file(spec.table), self.dialect)
        if spec.procedure is not None:
            statements += ddl_statements(procedure_file(spec.procedure), self.dialect)
        return statements

    def _stage(self, cursor: Any, stage: str, columns: list[StagingColumn], files: list[LakeFile]) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {quote(stage, self.dialect)}")
        cursor.execute(create_stage_sql(stage, columns, self.dialect))
        if self.dialect == "redshift":
            assert self.manifest_uri is not None  # checked in __init__
            bulk_copy.write_manifest(self.manifest_uri, files)
            cursor.execute(
                bulk_copy.redshift_copy_sql(quote(stage, self.dialect), self.manifest_uri, self.copy_role_arn)
            )
        else:
            bulk_copy.copy_parquet_into_postgres(cursor, stage, columns, files)
            # Temp tables get no statistics from autovacuum: without them PostgreSQL plans the
            # merge's joins and the duplicate check for a tiny stage (sorts, nested loops).
            cursor.execute(f"ANALYZE {quote(stage, self.dialect)}")

    @staticmethod
    def _count(cursor: Any, table: str) -> int:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cursor.fetchone()[0])

    @staticmethod
    def _execute(cursor: Any, statement: merge.Statement) -> int:
        sql, params = statement
        cursor.execute(sql, params or None)
        return max(int(cursor.rowcount or 0), 0)

    def _new_columns(
        self, cursor: Any, spec: LoadSpec, staged: list[StagingColumn], target_types: dict[str, str]
    ) -> None:
        """Staged columns the target lacks (schema drift): never silently dropped.

        ``new_columns="fail"`` fails the load naming them; ``"add"`` adds them to the target
        (``ALTER TABLE ... ADD COLUMN`` with the staging type, nullable) inside the load's
        transaction. The ``delete_column`` is a control column and never added.
        """
        control = {identifier(spec.delete_column)} if spec.delete_column else set()
        missing = [c for c in staged if c.name not in target_types and c.name not in control]
        if not missing:
            return
        names = [c.name for c in missing]
        if spec.new_columns == "fail":
            raise ValueError(
                f"The files have column(s) {names} that table {spec.table} does not have; they would "
                "be dropped. Add them to the table's DDL (include/warehouse/tables/), or load with "
                "new_columns='add' to add them automatically."
            )
        for column in missing:
            cursor.execute(
                f"ALTER TABLE {spec.table.sql(self.dialect)} ADD COLUMN {quote(column.name, self.dialect)} "
                f"{column.sql_type}"
            )
            target_types[column.name] = column.sql_type

    def _check_fit(
        self, cursor: Any, spec: LoadSpec, columns: list[StagingColumn], target_types: dict[str, str]
    ) -> None:
        """Fail with file, column and value when a staged value does not fit its target column
        exactly (never truncated, rounded away or stored as NaN). One scan of the stage answers
        for every column; only a column that has a misfit is read again for its value."""
        predicates = {
            column.name: predicate
            for column in columns
            if (
                predicate := fit.misfit_predicate(
                    column.name, column.sql_type, target_types[column.name], self.dialect
                )
            )
        }
        if not predicates:
            return
        stage = quote(spec.table.stage, self.dialect)
        flags = ", ".join(f"MAX(CASE WHEN {p} THEN 1 ELSE 0 END)" for p in predicates.values())
        cursor.execute(f"SELECT {flags} FROM {stage} AS s")
        misfits = [name for name, flag in zip(predicates, cursor.fetchone(), strict=True) if flag]
        if not misfits:
            return
        column = next(c for c in columns if c.name == misfits[0])
        name = quote(column.name, self.dialect)
        cursor.execute(
            f"SELECT CAST(s.{name} AS VARCHAR(65535)) FROM {stage} AS s WHERE {predicates[column.name]} LIMIT 1"
        )
        value = cursor.fetchone()[0]
        files = fit.locate(self._uris, column, value)
        raise ValueError(
            f"File {', '.join(files) or '(one of the files)'}, column {column.source_name!r}: value "
            f"{value!r} does not fit {spec.table}.{column.name} ({target_types[column.name]}) "
            "exactly; nothing was loaded. Widen the column or fix the source value."
        )

    def _apply(
        self,
        cursor: Any,
        spec: LoadSpec,
        staged_columns: list[StagingColumn],
        target_types: dict[str, str],
        result: LoadResult,
    ) -> None:
        staged = [c.name for c in staged_columns]
        table, stage = spec.table, spec.table.stage
        key = [identifier(k) for k in spec.primary_key]
        _require(staged, [*key, *(identifier(c) for c in spec.order_by)], "the files")
        _require(list(target_types), key, f"table {table}")
        unique = key if spec.mode == "merge" and not spec.order_by else []
        cursor.execute(merge.staged_rows_sql(stage, unique, self.dialect))
        result.rows_in, repeated = (int(value) for value in cursor.fetchone())
        if spec.mode != "procedure":
            self._new_columns(cursor, spec, staged_columns, target_types)
        common = [c for c in target_types if c in staged]
        if spec.mode != "procedure":
            self._check_fit(cursor, spec, [c for c in staged_columns if c.name in common], target_types)
        if spec.mode == "merge":
            source = stage
            order = [identifier(c) for c in spec.order_by]
            if order:
                _require(
                    list(target_types),
                    order,
                    f"table {table} (it must store the order_by values, so a late change older "
                    "than a row never overwrites it)",
                )
                source = f"{stage}_latest"
                cursor.execute(f"DROP TABLE IF EXISTS {quote(source, self.dialect)}")
                cursor.execute(
                    merge.latest_per_key_sql(stage, source, staged, key, order, target_types, self.dialect)
                )
            elif repeated:
                raise ValueError(
                    f"Keys of {table} appear more than once in the files ({repeated} repeated "
                    "row(s)); pass order_by=[...] (e.g. the change sequence or commit time) so the "
                    "latest wins."
                )
            delete_column = identifier(spec.delete_column) if spec.delete_column else None
            if delete_column:
                _require(staged, [delete_column], "the files")
            tombstones = bool(delete_column and order)
            if tombstones:
                cursor.execute(merge.create_tombstones_sql(table, key, order, target_types, self.dialect))
            statements = merge.merge_statements(
                table,
                source,
                key,
                common,
                target_types,
                delete_column,
                spec.delete_value,
                order,
                self.dialect,
                tombstones,
            )
            if "delete" in statements:
                result.rows_deleted = self._execute(cursor, statements["delete"])
            if "update" in statements:
                result.rows_updated = self._execute(cursor, statements["update"])
            result.rows_inserted = self._execute(cursor, statements["insert"])
            for step in ("forget", "remember"):
                if step in statements:
                    self._execute(cursor, statements[step])
        elif spec.mode == "append":
            result.rows_inserted = self._execute(
                cursor, merge.append_statement(table, stage, common, target_types, self.dialect)
            )
        elif spec.mode == "replace":
            column = identifier(spec.partition_column or "")
            _require(staged, [column], "the files")
            _require(list(target_types), [column], f"table {table}")
            cursor.execute(
                *merge.foreign_partition_rows_statement(
                    stage, column, spec.partition_value, target_types, self.dialect
                )
            )
            foreign = int(cursor.fetchone()[0])
            if foreign:
                raise ValueError(
                    f"{foreign} row(s) in the files have {column} other than {spec.partition_value!r}; "
                    f"a replace of that partition would not be repeatable. Load each partition separately."
                )
            delete = merge.delete_partition_statement(
                table, column, spec.partition_value, target_types, self.dialect
            )
            result.rows_deleted = self._execute(cursor, delete)
            result.rows_inserted = self._execute(
                cursor, merge.append_statement(table, stage, common, target_types, self.dialect)
            )
        elif spec.mode == "snapshot":
            cursor.execute(merge.drop_tombstones_sql(table, self.dialect))
            result.rows_deleted = self._execute(cursor, merge.delete_all_statement(table, self.dialect))
            result.rows_inserted = self._execute(
                cursor, merge.append_statement(table, stage, common, target_types, self.dialect)
            )
        else:
            assert spec.procedure is not None  # validated by LoadSpec
            before = self._count(cursor, table.sql(self.dialect))
            cursor.execute(*merge.call_statement(spec.procedure, spec.procedure_args, self.dialect))
            result.rows_out = self._count(cursor, table.sql(self.dialect)) - before
            return
        result.rows_out = result.rows_inserted + result.rows_updated

    @staticmethod
    def _already_loaded(cursor: Any, table: TableName, files: list[LakeFile]) -> set[str]:
        placeholders = ", ".join(["%s"] * len(files))
        cursor.execute(
            f"SELECT source_uri FROM {LOAD_LOG} WHERE target_table = %s AND source_uri IN ({placeholders})",
            (str(table), *(f.uri for f in files)),
        )
        return {row[0] for row in cursor.fetchall()}

    @staticmethod
    def _record(cursor: Any, spec: LoadSpec, files: list[LakeFile], run: RunInfo) -> None:
        rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(files))
        params: list[Any] = []
        for f in files:
            params += [str(spec.table), f.uri, f.size, spec.mode, run.dag_id, run.task_id, run.run_id]
        cursor.execute(
            f"INSERT INTO {LOAD_LOG} (target_table, source_uri, source_bytes, load_mode, dag_id, task_id, "
            f"run_id) VALUES {rows}",
            tuple(params),
        )


def _require(available: list[str], needed: list[str], where: str) -> None:
    missing = [c for c in needed if c not in available]
    if missing:
        raise ValueError(f"Column(s) {missing} not found in {where} (available: {available}).")
