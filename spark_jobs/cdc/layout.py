"""Where a CDC table's data, state, results and quarantine live in the lake.

::

    <lake>/cdc/<db>/<table>/                      table root
        _current.json                             snapshot sink: pointer to the current version
        versions/v=<n>/[<partition>=<value>/]*.parquet
        hudi/                                     Hudi sink: the Hudi table (base path)
        changes/run=<run_id>/*.parquet            net change of one load, with _cdc_op / _cdc_seq
        tombstones/_current.json, v=<n>/          deleted keys with their delete's _cdc_seq
    <lake>/_state/cdc/<db>/<table>/
        state.json                                processed files, schema, committed runs
        commit.json                               prepared commit (files, change set, result) until state.json holds it
        history/<run_id>.json                     result of each run (ok / noop / locked / failed)
        refresh/<run_id>/*.parquet                a superseded run's rerun: current rows of its keys
        lock/<generation>.json[.released]         per-table lock
    <lake>/_quarantine/cdc/<db>/<table>/<run_id>/
        reason.json, files/<landing path>, rows/*.parquet

The landing side follows DMS: ``<landing>/<dms_folder>/<schema>/<table>/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from spark_jobs.common.lake import join_uri, normalize_uri


def _safe_run_id(run_id: str) -> str:
    """Run ids become folder names: keep them readable but path-safe (Airflow ids have ``:+``)."""
    return "".join(ch if ch.isalnum() or ch in "-_.=" else "_" for ch in run_id)


@dataclass(frozen=True)
class TableLayout:
    """All lake URIs of one CDC table (``database``/``table`` are the lake names)."""

    lake_root: str
    database: str
    table: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "lake_root", normalize_uri(self.lake_root))

    @property
    def table_id(self) -> str:
        return f"{self.database}.{self.table}"

    @property
    def table_root(self) -> str:
        return join_uri(self.lake_root, "cdc", self.database, self.table)

    @property
    def pointer_uri(self) -> str:
        return join_uri(self.table_root, "_current.json")

    @property
    def versions_root(self) -> str:
        return join_uri(self.table_root, "versions")

    def version_uri(self, version: int) -> str:
        return join_uri(self.versions_root, f"v={version}")

    @property
    def hudi_uri(self) -> str:
        return join_uri(self.table_root, "hudi")

    @property
    def tombstones_root(self) -> str:
        """Deleted keys and their delete's ``_cdc_seq`` (see :mod:`spark_jobs.cdc.tombstones`)."""
        return join_uri(self.table_root, "tombstones")

    def changes_uri(self, run_id: str) -> str:
        return join_uri(self.table_root, "changes", f"run={_safe_run_id(run_id)}")

    def refresh_uri(self, run_id: str) -> str:
        """The current rows of the keys a superseded run changed (see ``merge._refresh_superseded``):
        what that run's load gets, not change records of the table, so kept with the state."""
        return join_uri(self.state_root, "refresh", _safe_run_id(run_id))

    @property
    def state_root(self) -> str:
        return join_uri(self.lake_root, "_state", "cdc", self.database, self.table)

    @property
    def state_uri(self) -> str:
        return join_uri(self.state_root, "state.json")

    @property
    def commit_intent_uri(self) -> str:
        return join_uri(self.state_root, "commit.json")

    @property
    def history_root(self) -> str:
        return join_uri(self.state_root, "history")

    def result_uri(self, run_id: str) -> str:
        return join_uri(self.history_root, f"{_safe_run_id(run_id)}.json")

    @property
    def lock_root(self) -> str:
        return join_uri(self.state_root, "lock")

    def quarantine_uri(self, run_id: str) -> str:
        return join_uri(self.lake_root, "_quarantine", "cdc", self.database, self.table, _safe_run_id(run_id))


def table_layout(lake_root: str, table_id: str) -> TableLayout:
    """Layout from a ``<database>.<table>`` id."""
    database, sep, table = table_id.partition(".")
    if not sep or not database or not table:
        raise ValueError(f"table id {table_id!r} must be '<database>.<table>'")
    return TableLayout(lake_root, database, table)


def landing_table_uri(landing_root: str, landing_folder: str) -> str:
    """``<landing>/<dms_folder>/<schema>/<table>`` (see ``TableConfig.landing_folder``)."""
    return join_uri(normalize_uri(landing_root), landing_folder)
