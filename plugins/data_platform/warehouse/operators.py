"""DAG-facing warehouse operators: load lake files into a table, and check a table's quality.

Both resolve the warehouse at run time (``get_settings().warehouse_conn_id``: the ``warehouse``
PostgreSQL connection locally, ``redshift_default`` on aws)::

    load = LoadToWarehouseOperator(task_id="load_events", table="demo.events", source_uris=admit.output["accepted"],
                           mode="merge", primary_key=["event_id"], delete_column="op", order_by=["seq"])
    check = CheckWarehouseTableOperator(task_id="check_events", table="demo.events", rules="demo.events",
                                source_row_count="{{ ti.xcom_pull('load_events')['rows_in'] }}")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from data_platform.alerting import ALERT_POLICY_STANDARD, AlertEvent, AlertPolicy

if TYPE_CHECKING:
    from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator


def _safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def _resolved_later(value: Any) -> bool:
    """True for a Jinja template or an XCom reference (known only when the task runs)."""
    return (isinstance(value, str) and "{{" in value) or hasattr(value, "resolve")


class LoadToWarehouseOperator(BaseOperator):
    """Load Parquet lake files into ``table`` through a staging table, in one transaction.

    ``mode``: ``merge`` (by ``primary_key``; rows whose ``delete_column`` equals ``delete_value``
    delete their key; with ``order_by`` the last change per key wins), ``append`` (files already
    loaded into the table are skipped), ``replace`` (``partition_column`` = ``partition_value``
    is replaced by the files' rows) or ``procedure`` (``CALL procedure(*procedure_args)``, which
    reads the temp table ``stage_<table>``). See ``data_platform.warehouse.loader``.

    ``new_columns``: a column of the files that the table lacks (schema drift) fails the load
    naming it (``"fail"``, default) or is added to the table (``"add"``); never dropped.

    After the commit the files get processed markers for ``consumer`` (default: the DAG id), so
    ``NewLakeFilesSensor`` stops reporting them. Returns the metrics dict of ``LoadResult``
    (``rows_in``, ``rows_out``, ``rows_inserted``, ``rows_updated``, ``rows_deleted``,
    ``files_loaded``, ``files_skipped``, ``table``, ``mode``) as its XCom return value.
    """

    # table, mode and keys are templated too, so a mapped task can take them from XCom (the CDC
    # pipeline loads whichever tables had changes); they are validated at parse time when given
    # as plain values, and always when the task runs.
    template_fields: Sequence[str] = (
        "table",
        "mode",
        "primary_key",
        "delete_column",
        "order_by",
        "new_columns",
        "source_uris",
        "partition_value",
        "procedure_args",
    )

    def __init__(
        self,
        *,
        table: str,
        source_uris: Any,
        mode: str = "merge",
        primary_key: Sequence[str] = (),
        delete_column: str | None = None,
        delete_value: Any = "D",
        order_by: Sequence[str] = (),
        partition_column: str | None = None,
        partition_value: Any = None,
        procedure: str | None = None,
        procedure_args: Sequence[Any] = (),
        create_table: bool = True,
        new_columns: str = "fail",
        mark_processed: bool = True,
        consumer: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)  # load.output["rows_in"] in DAGs
        super().__init__(**kwargs)
        self.table = table
        self.source_uris = source_uris
        self.mode = mode
        self.primary_key = primary_key
        self.delete_column = delete_column
        self.delete_value = delete_value
        self.order_by = order_by
        self.partition_column = partition_column
        self.partition_value = partition_value
        self.procedure = procedure
        self.procedure_args = procedure_args
        self.create_table = create_table
        self.new_columns = new_columns
        self.mark_processed = mark_processed
        self.consumer = consumer
        later = (table, mode, primary_key, delete_column, order_by, new_columns)
        if not any(_resolved_later(v) for v in later):
            self._spec()  # fail at DAG parse time on an invalid combination
        self._lineage_inputs: list[str] = []
        self._lineage_table: tuple[str, str] | None = None
        self._lineage_columns: list[tuple[str, str]] = []
        self._lineage_copied: list[str] = []
        self._lineage_mapping: dict[str, list[tuple[str, str, str]]] = {}

    def _spec(self) -> Any:
        from data_platform.warehouse.loader import LoadSpec
        from data_platform.warehouse.tables import TableName

        return LoadSpec(
            table=TableName.parse(self.table),
            mode=self.mode,
            primary_key=tuple(self.primary_key or ()),
            delete_column=self.delete_column,
            delete_value=self.delete_value,
            order_by=tuple(self.order_by or ()),
            partition_column=self.partition_column,
            partition_value=self.partition_value,
            procedure=TableName.parse(self.procedure) if self.procedure else None,
            procedure_args=tuple(self.procedure_args or ()),
            create_table=self.create_table,
            new_columns=self.new_columns,
        )

    def execute(self, context: Any) -> dict[str, Any]:
        from data_platform.lake.markers import ProcessedMarkers
        from data_platform.lake.storage import as_uri_list, file_info, relative_to
        from data_platform.settings import get_settings
        from data_platform.warehouse.connection import warehouse_dialect, warehouse_hook
        from data_platform.warehouse.loader import RunInfo, WarehouseLoader

        settings = get_settings()
        spec = self._spec()
        uris = as_uri_list(self.source_uris)
        if self.mark_processed:
            for uri in uris:
                relative_to(uri, settings.lake_root)  # markers need files under the lake root
        files = [file_info(uri) for uri in uris]
        ti = context["ti"]
        run = RunInfo(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id)
        dialect = warehouse_dialect(settings)
        manifest_uri = None
        if dialect == "redshift":
            manifest_uri = settings.lake_uri(
                "_manifests",
                str(spec.table),
                f"{_safe_name(run.dag_id)}.{_safe_name(run.run_id)}.{run.task_id}.manifest",
            )
        hook = warehouse_hook(settings.warehouse_conn_id)
        self.log.info("Loading %d file(s) into %s (%s, %s)", len(files), spec.table, spec.mode, dialect)
        with closing(hook.get_conn()) as connection:
            loader = WarehouseLoader(
                connection, dialect, copy_role_arn=settings.warehouse_copy_role_arn, manifest_uri=manifest_uri
            )
            result = loader.load(spec, files, run)
            self._remember_lineage(hook, connection, spec, uris)
        if self.mark_processed and uris:
            markers = ProcessedMarkers(settings.lake_root, self.consumer or run.dag_id)
            markers.mark(uris, {"dag_id": run.dag_id, "run_id": run.run_id, "table": str(spec.table)})
        metrics = result.as_dict()
        metrics.pop("loaded_files")
        self.log.info("Load of %s done: %s", spec.table, metrics)
        return metrics

    def _remember_lineage(self, hook: Any, connection: Any, spec: Any, uris: list[str]) -> None:
        """The table's name, columns and each column's sources in the files: the same column for
        a copy, what the procedure's SQL reads from the staged files for a procedure load
        (data_platform.lineage.sql)."""
        from data_platform.warehouse.connection import table_columns, table_dataset_identity
        from data_platform.warehouse.staging import common_schema

        self._lineage_inputs = uris
        try:
            self._lineage_table = table_dataset_identity(hook, spec.table)
            with closing(connection.cursor()) as cursor:
                self._lineage_columns = table_columns(cursor, spec.table)
            staged = set(common_schema(uris).names) if uris else set()
            if uris and spec.mode != "procedure":
                self._lineage_copied = [name for name, _ in self._lineage_columns if name in staged]
            if uris and spec.procedure is not None:
                from data_platform.lineage.sql import procedure_load_lineage
                from data_platform.warehouse.tables import procedure_file

                self._lineage_mapping = procedure_load_lineage(
                    procedure_file(spec.procedure), spec.table.stage, str(spec.table), staged
                )
        except Exception:  # noqa: BLE001 - lineage must never fail a load
            self.log.warning("No OpenLineage naming or columns for %s", spec.table, exc_info=True)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage

        from data_platform.lake.lineage import folder_datasets
        from data_platform.lineage.facets import column_lineage, identity_column_lineage, schema_facet

        inputs = folder_datasets(self._lineage_inputs)
        outputs = []
        if self._lineage_table:
            facets: dict[str, Any] = {}
            if self._lineage_columns:
                facets["schema"] = schema_facet(self._lineage_columns)
            if self._lineage_copied:
                facets["columnLineage"] = identity_column_lineage(
                    [(d.namespace, d.name) for d in inputs], self._lineage_copied
                )
            elif self._lineage_mapping:
                facets["columnLineage"] = column_lineage(
                    [(d.namespace, d.name) for d in inputs], self._lineage_mapping
                )
            outputs.append(
                Dataset(namespace=self._lineage_table[0], name=self._lineage_table[1], facets=facets)
            )
        return OperatorLineage(inputs=inputs, outputs=outputs)


class CheckWarehouseTableOperator(BaseOperator):
    """Run the data-quality rules of a table (``include/warehouse/quality/<rules>.yaml`` or a dict).

    The rules compile, at run time (they need the table's column types and the templated source
    count), to the ``checks`` of a common-sql ``SQLTableCheckOperator`` (one boolean aggregate
    each, one query for all), which this task runs. When a rule fails, the task fails with the
    rule, its SQL and up to ``sample_size`` offending rows, and ``alert_policy`` is told (event
    ``check_failed``). ``source_row_count`` (templated, e.g. from the load's XCom) feeds
    ``row_count`` rules; ``partition_clause`` limits every rule to a slice (e.g. a day).

    Returns ``{"table", "rules", "checks_total", "checks_passed", "checks_failed", "rows_in",
    "rows_out"}`` (``rows_in`` = the source count given, ``rows_out`` = rows in the checked
    slice); on failure the same dict is pushed under the XCom key ``check_summary``.
    """

    template_fields: Sequence[str] = ("table", "partition_clause", "rules", "source_row_count")

    def __init__(
        self,
        *,
        table: str,
        rules: str | Mapping[str, Any] | None = None,
        source_row_count: int | str | None = None,
        partition_clause: str | None = None,
        sample_size: int = 5,
        alert_policy: AlertPolicy = ALERT_POLICY_STANDARD,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("multiple_outputs", True)
        super().__init__(**kwargs)
        self.table = table
        self.partition_clause = partition_clause
        self.rules = rules if rules is not None else table
        self.source_row_count = source_row_count
        self.sample_size = sample_size
        self.alert_policy = alert_policy
        self._check: SQLTableCheckOperator | None = None

    def _source_count(self) -> int | None:
        value = self.source_row_count
        if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"source_row_count must be a whole number, got {value!r}.") from None

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow.providers.common.sql.operators.sql import SQLTableCheckOperator
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        from data_platform.intervals import run_data_interval
        from data_platform.settings import get_settings
        from data_platform.warehouse.connection import table_columns, warehouse_dialect, warehouse_hook
        from data_platform.warehouse.quality import compile_checks, load_rules
        from data_platform.warehouse.tables import TableName

        settings = get_settings()
        conn_id = settings.warehouse_conn_id
        dialect = warehouse_dialect(settings)
        table = TableName.parse(self.table)
        hook = warehouse_hook(conn_id)
        origin, rules = load_rules(self.rules)
        with closing(hook.get_conn()) as connection, closing(connection.cursor()) as cursor:
            column_types = dict(table_columns(cursor, table))
        checks = compile_checks(
            table,
            rules,
            origin=origin,
            column_types=column_types,
            source_row_count=self._source_count(),
            interval_end=run_data_interval(context)[1],
            partition_clause=self.partition_clause,
            sample_size=self.sample_size,
            dialect=dialect,
        )
        self._check = check = SQLTableCheckOperator(
            task_id=self.task_id,
            conn_id=conn_id,
            table=table.sql(dialect),
            checks={
                c.name: {"check_statement": c.statement, **({"partition_clause": c.where} if c.where else {})}
                for c in checks
            },
            partition_clause=self.partition_clause,
            retry_on_failure=False,
        )
        error: AirflowException | None = None
        try:
            check.execute(context)
        except AirflowException as err:
            error = err
        failed = [c for c in checks if not check.checks[c.name].get("success", False)]
        if error is not None and not failed:
            raise error
        summary = {
            "table": str(table),
            "rules": origin,
            "checks_total": len(checks),
            "checks_passed": len(checks) - len(failed),
            "checks_failed": [c.name for c in failed],
            "rows_in": self._source_count(),
            "rows_out": self._row_count(hook, table.sql(dialect)),
        }
        if not failed:
            self.log.info("All %d data-quality checks passed on %s", len(checks), table)
            return summary
        report, samples = self._failure_report(hook, table, origin, checks, failed)
        context["ti"].xcom_push(key="check_summary", value=summary)
        from data_platform.alerting import send_alert

        send_alert(
            self.alert_policy,
            AlertEvent.CHECK_FAILED,
            subject=f"Data-quality check failed on {table} ({self.dag_id}.{self.task_id})",
            message=report,
            details={"table": str(table), "failed": summary["checks_failed"], "samples": samples},
            context=context,
        )
        raise AirflowFailException(report)

    def _row_count(self, hook: Any, table: Any) -> int:
        where = f" WHERE {self.partition_clause}" if self.partition_clause else ""
        return int(hook.get_first(f"SELECT COUNT(*) FROM {table}{where}")[0])

    def _failure_report(
        self, hook: Any, table: Any, origin: str, checks: list[Any], failed: list[Any]
    ) -> tuple[str, dict[str, list[dict[str, str]]]]:
        samples: dict[str, list[dict[str, str]]] = {}
        lines = [
            f"Data-quality check failed on {table}: {len(failed)} of {len(checks)} rule(s) failed ({origin})."
        ]
        with closing(hook.get_conn()) as connection, closing(connection.cursor()) as cursor:
            for check in failed:
                cursor.execute(check.sample_sql)
                names = [d[0] for d in cursor.description]
                rows = [{n: str(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
                samples[check.name] = rows
                lines.append(f"- rule {check.name} [{check.rule_type}]: {check.description}")
                lines.append(f"  check: {check.statement}" + (f" WHERE {check.where}" if check.where else ""))
                lines.append(f"  sample rows (up to {self.sample_size}):" + ("" if rows else " none"))
                lines.extend(f"    {row}" for row in rows)
        return "\n".join(lines), samples

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The check operator's lineage: the table (named by the warehouse hook) and the
        data-quality facets of the checks' results."""
        return self._check.get_openlineage_facets_on_complete(task_instance) if self._check else None
