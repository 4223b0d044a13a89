"""CDC merge throughput: 1M DMS changes against a 1M-row table on local Spark, Hudi sink against
a bare Hudi write, snapshot sink and DuckDB, all in the same run.

    python -m benchmarks.cdc_merge [--rows 1000000] [--changes 1000000]

Generates (numpy/pyarrow) a DMS full load of ``--rows`` rows and one CDC batch of
``--changes`` changes (70% updates, 20% inserts, 10% deletes; keys drawn with replacement, so
many keys change several times; files written out of commit order), then:

1. the real merge job code with the Hudi sink (COPY_ON_WRITE, the pinned bundle from Maven,
   local[2]): full load (bulk_insert), then the CDC batch: read + validate + net change +
   change set + one upsert commit (deletes as ``_hoodie_is_deleted``) + state commit;
2. a bare Hudi write of the same net change directly with Spark (reference floor): the same
   base table bulk-inserted, then an ``upsert`` of the inserted/updated rows and a ``delete``
   of the deleted keys with Hudi's default payload, nothing else;
3. the merge job with the Parquet snapshot sink (the explicit fallback, ``--sink snapshot``);
4. DuckDB (single-node reference, same machine, same files): the same net change applied to the
   snapshot sink's base version and written as Parquet;
5. a small batch (``--small-changes`` updates, default 10) into the snapshot sink, the table
   unpartitioned (the whole table is rewritten: the reference) and partitioned by ``bucket``
   (``id % 64``: only the touched partitions are rewritten, the others cloned), and the fixed
   cost of a load: the same batch into a partitioned table of 1,000 rows.

Prints seconds and changes/s of each; all four must end with the same row count.
``--only small-batch`` runs step 5 alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

_BASE_TS = "2024-05-01 00:00:00.000000"
_BUCKETS = 64
_TINY_ROWS = 1_000


def _write_inputs(folder: Path, rows: int, changes: int, seed: int) -> None:
    """DMS Parquet files under ``folder/bench/public/events/`` (full load + one CDC batch)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    table_dir = folder / "bench" / "public" / "events"
    table_dir.mkdir(parents=True)

    ids = np.arange(rows, dtype=np.int64)
    load = pa.table(
        {
            "dms_commit_ts": pa.array([_BASE_TS] * rows),
            "id": ids,
            "customer_id": rng.integers(0, 50_000, rows),
            "amount": np.round(rng.random(rows) * 1000, 2),
            "status": pa.array(rng.choice(["new", "paid", "shipped"], rows)),
            "change_seq": pa.nulls(rows, pa.string()),
            "bucket": ids % _BUCKETS,
        }
    )
    for index, start in enumerate(range(0, rows, 250_000)):
        pq.write_table(load.slice(start, 250_000), table_dir / f"LOAD{index + 1:08X}.parquet")

    if not changes:
        return
    kinds = rng.choice(np.array(["U", "I", "D"]), changes, p=[0.7, 0.2, 0.1])
    keys = rng.integers(0, rows, changes)
    keys[kinds == "I"] = rows + rng.integers(0, changes // 5 + 1, int((kinds == "I").sum()))
    commits = pa.array(np.datetime64("2024-05-01T01:00:00") + np.arange(changes).astype("timedelta64[us]"))
    order = np.arange(changes)
    cdc = pa.table(
        {
            "Op": pa.array(kinds),
            "dms_commit_ts": pc.strftime(commits, format="%Y-%m-%d %H:%M:%S"),
            "id": keys,
            "customer_id": rng.integers(0, 50_000, changes),
            "amount": np.round(rng.random(changes) * 1000, 2),
            "status": pa.array(rng.choice(["paid", "shipped", "returned"], changes)),
            "change_seq": pa.array(np.char.zfill(order.astype(str), 35)),
            "bucket": keys % _BUCKETS,
        }
    )
    # 8 files; commit order is spread round-robin, so no file name order matches commit order
    for index in range(8):
        part = cdc.take(pa.array(order[index::8]))
        pq.write_table(part, table_dir / f"20240501-0100{index:02d}000.parquet")


def _bench_config(table_type: str = "COPY_ON_WRITE", partition_by: tuple[str, ...] = ()) -> Any:
    from spark_jobs.cdc.table_config import TableConfig

    return TableConfig(
        source_db="bench",
        source_schema="public",
        source_table="events",
        primary_key=["id"],
        ordering_columns=["dms_commit_ts", "change_seq"],
        cadence="hourly",
        file_format="parquet",
        table_type=table_type,
        partition_by=list(partition_by),
    )


def _write_small_batch(folder: Path, rows: int, changes: int, seed: int) -> None:
    """A full load (as :func:`_write_inputs`) and one CDC file of ``changes`` updates of existing keys."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    _write_inputs(folder, rows, 0, seed)
    table_dir = folder / "bench" / "public" / "events"
    rng = np.random.default_rng(seed + 1)
    keys = rng.choice(rows, changes, replace=False).astype(np.int64)
    batch = pa.table(
        {
            "Op": pa.array(["U"] * changes),
            "dms_commit_ts": pa.array(["2024-05-01 02:00:00.000000"] * changes),  # the full load's width
            "id": keys,
            "customer_id": rng.integers(0, 50_000, changes),
            "amount": np.round(rng.random(changes) * 1000, 2),
            "status": pa.array(["returned"] * changes),
            "change_seq": pa.array(np.char.zfill(np.arange(changes).astype(str), 35)),
            "bucket": keys % _BUCKETS,
        }
    )
    pq.write_table(batch, table_dir / "20240501-020000000.parquet")


def _small_batch(spark: Any, folder: Path, lake: Path, partition_by: tuple[str, ...]) -> tuple[float, dict]:
    """Seconds of the small CDC batch into the snapshot sink after the full load, and its result."""
    from spark_jobs.cdc.merge import MergeSettings, merge_table

    config = _bench_config(partition_by=partition_by)
    table_dir = folder / "bench" / "public" / "events"
    batch = table_dir / "20240501-020000000.parquet"
    parked = folder.parent / f"parked-{lake.name}"
    parked.mkdir()
    batch.rename(parked / batch.name)
    landing, lake_uri = f"file://{folder}", f"file://{lake}"
    load = merge_table(spark, config, MergeSettings(landing, lake_uri, run_id="full-load", sink="snapshot"))
    (parked / batch.name).rename(batch)
    started = time.perf_counter()
    result = merge_table(spark, config, MergeSettings(landing, lake_uri, run_id="small", sink="snapshot"))
    seconds = time.perf_counter() - started
    if load.status != "ok" or result.status != "ok":
        raise RuntimeError(f"small-batch merge {partition_by} failed: {load.error or result.error}")
    return seconds, result.to_dict()


def _bench_small_batch(spark: Any, work: Path, rows: int, changes: int, seed: int) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from spark_jobs.cdc.outputs import read_current

    _write_small_batch(work / "landing-small", rows, changes, seed)
    batch = work / "landing-small" / "bench" / "public" / "events" / "20240501-020000000.parquet"
    touched_buckets = len(pc.unique(pq.read_table(batch, columns=["bucket"]).column("bucket")))
    whole_s, whole = _small_batch(spark, work / "landing-small", work / "lake-unpartitioned", ())
    touched_s, touched = _small_batch(spark, work / "landing-small", work / "lake-partitioned", ("bucket",))
    # the fixed cost of a load (Spark jobs, listing, state, lock): the same batch into a tiny table
    _write_small_batch(work / "landing-tiny", _TINY_ROWS, changes, seed)
    fixed_s, _ = _small_batch(spark, work / "landing-tiny", work / "lake-tiny", ("bucket",))
    tables = [
        read_current(f"file://{work / lake}", "bench", "events").sort_by("id").select(["id", "status"])
        for lake in ("lake-unpartitioned", "lake-partitioned")
    ]
    if not tables[0].equals(tables[1]) or whole["rows_after"] != touched["rows_after"]:
        raise RuntimeError("the partitioned and unpartitioned snapshot tables disagree")
    print(f"small batch: {changes} updates into {whole['rows_after']:,} rows (snapshot sink)")
    print(f"{'table':<44}{'seconds':>10}")
    print(f"{'unpartitioned (whole table rewritten)':<44}{whole_s:>10.1f}")
    print(f"{f'partitioned by bucket ({_BUCKETS})':<44}{touched_s:>10.1f}")
    print(f"{f'partitioned, {_TINY_ROWS:,} rows (fixed cost of a load)':<44}{fixed_s:>10.1f}")
    print(f"partitioned / unpartitioned time ratio: {touched_s / whole_s:.2f}x")
    print(
        f"above the fixed cost: {(touched_s - fixed_s) / (whole_s - fixed_s):.2f}x "
        f"(partitions rewritten: {touched_buckets} of {_BUCKETS}, {touched_buckets / _BUCKETS:.0%} of the rows)"
    )


def _spark_merge(spark: Any, folder: Path, lake: Path, sink: str) -> tuple[float, float, dict, dict]:
    """Seconds of the full load and of the CDC merge, and both runs' results (merge job code)."""
    from spark_jobs.cdc.merge import MergeSettings, merge_table

    config = _bench_config()
    cdc_files = sorted((folder / "bench" / "public" / "events").glob("2024*.parquet"))
    parked = folder / "parked"
    parked.mkdir(exist_ok=True)
    for path in cdc_files:  # land the full load first, then the CDC batch
        path.rename(parked / path.name)
    landing, lake_uri = f"file://{folder}", f"file://{lake}"
    started = time.perf_counter()
    load = merge_table(spark, config, MergeSettings(landing, lake_uri, run_id="full-load", sink=sink))  # type: ignore[arg-type]
    load_seconds = time.perf_counter() - started
    for path in cdc_files:
        (parked / path.name).rename(path)
    started = time.perf_counter()
    result = merge_table(spark, config, MergeSettings(landing, lake_uri, run_id="cdc-1", sink=sink))  # type: ignore[arg-type]
    cdc_seconds = time.perf_counter() - started
    if load.status != "ok" or result.status != "ok":
        raise RuntimeError(f"benchmark merge ({sink}) failed: {load.error or result.error}")
    return load_seconds, cdc_seconds, load.to_dict(), result.to_dict()


def _bare_hudi(spark: Any, load_changes_uri: str, cdc_changes_uri: str, table: Path) -> tuple[float, int]:
    """The same net change written straight to a Hudi table: upsert I/U rows, delete D keys."""
    from pyspark.sql import functions as F

    options = {
        "hoodie.table.name": "events_bare",
        "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
        "hoodie.datasource.write.recordkey.field": "id",
        "hoodie.datasource.write.precombine.field": "_cdc_seq",
        "hoodie.datasource.write.keygenerator.class": "org.apache.hudi.keygen.NonpartitionedKeyGenerator",
    }
    uri = f"file://{table}"

    def save(frame: Any, operation: str, mode: str) -> None:
        frame.write.format("hudi").options(**options).option(
            "hoodie.datasource.write.operation", operation
        ).mode(mode).save(uri)

    save(spark.read.parquet(load_changes_uri), "bulk_insert", "overwrite")  # the same base table
    changes = spark.read.parquet(cdc_changes_uri).cache()
    changes.count()
    started = time.perf_counter()
    save(changes.filter(F.col("_cdc_op") != "D"), "upsert", "append")
    save(changes.filter(F.col("_cdc_op") == "D"), "delete", "append")
    seconds = time.perf_counter() - started
    changes.unpersist()
    return seconds, spark.read.format("hudi").load(uri).count()


def _duckdb_merge(folder: Path, base_files: list[str], out: Path) -> tuple[float, int]:
    import duckdb

    cdc = sorted(str(p) for p in (folder / "bench" / "public" / "events").glob("2024*.parquet"))
    connection = duckdb.connect()
    connection.execute("SET threads TO 2")
    started = time.perf_counter()
    connection.execute(
        f"""
        CREATE TEMP TABLE net AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, row_number() OVER (
                PARTITION BY id
                ORDER BY dms_commit_ts DESC, change_seq DESC, filename DESC, file_row_number DESC) AS rn
            FROM read_parquet({cdc!r}, filename = true, file_row_number = true))
        WHERE rn = 1
        """
    )
    connection.execute(
        f"""
        COPY (
            SELECT dms_commit_ts, id, customer_id, amount, status, change_seq
            FROM read_parquet({base_files!r}) AS b ANTI JOIN net USING (id)
            UNION ALL
            SELECT dms_commit_ts, id, customer_id, amount, status, change_seq FROM net WHERE Op <> 'D'
        ) TO '{out}' (FORMAT parquet)
        """
    )
    seconds = time.perf_counter() - started
    rows = connection.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchone()[0]
    return seconds, rows


def _progress(message: str, begun: float) -> None:
    """One progress line (elapsed minutes since the benchmark began), flushed at once."""
    print(f"[{(time.perf_counter() - begun) / 60:5.1f} min] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cdc_merge", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the table before the CDC batch")
    parser.add_argument("--changes", type=int, default=1_000_000, help="changes in the CDC batch")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--small-changes", type=int, default=10, help="updates in the small batch (step 5)")
    parser.add_argument("--only", choices=["all", "small-batch"], default="all")
    parser.add_argument(
        "--driver-memory", default="4g", help="local Spark driver heap (local[2]: the executors run in it)"
    )
    # ``python -m benchmarks cdc_merge`` calls main() with the runner's own arguments in sys.argv
    args = parser.parse_args(argv if argv is not None else [])

    begun = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="cdc-bench-"))
    figures: list[tuple[str, float, int]] = []

    def figure(name: str, seconds: float, count: int) -> None:
        figures.append((name, seconds, count))
        _progress(f"{name}: {seconds:.1f} s ({count / seconds:,.0f}/s)", begun)

    try:
        from data_platform.paths import INCLUDE_PATH_ENV_VAR, REPO_ROOT
        from data_platform.spark.conf import local_session_conf
        from spark_jobs.cdc.layout import TableLayout

        # the local target's Spark conf (Hudi bundle, S3A, ...) comes from the product's include/
        os.environ.setdefault(INCLUDE_PATH_ENV_VAR, str(REPO_ROOT / "include"))
        from spark_jobs.common.lake import list_files
        from spark_jobs.common.session import build_spark_session, local_conf

        spark = build_spark_session(
            "cdc-merge-benchmark",
            {**local_session_conf(), **local_conf(shuffle_partitions=8, driver_memory=args.driver_memory)},
        )
        spark.sparkContext.setLogLevel("ERROR")
        try:
            if args.only == "small-batch":
                _bench_small_batch(spark, work, args.rows, args.small_changes, args.seed)
                return 0
            _write_inputs(work / "landing", args.rows, args.changes, args.seed)
            _progress(f"inputs: {args.rows:,} rows full load + {args.changes:,} changes written", begun)
            _progress("1/4 hudi sink: full load, then the CDC batch (merge job code) ...", begun)
            hudi_load_s, hudi_s, hudi_load, hudi = _spark_merge(
                spark, work / "landing", work / "lake-hudi", "hudi"
            )
            figure("hudi sink full load (bulk_insert)", hudi_load_s, args.rows)
            figure("hudi sink CDC merge (merge job)", hudi_s, args.changes)
            _progress("2/4 bare hudi: the same base table, then upsert + delete of the net change ...", begun)
            hudi_layout = TableLayout(f"file://{work / 'lake-hudi'}", "bench", "events")
            bare_s, bare_rows = _bare_hudi(
                spark,
                hudi_layout.changes_uri(hudi_load["run_id"]),
                hudi_layout.changes_uri(hudi["run_id"]),
                work / "bare-hudi",
            )
            figure("bare hudi upsert + delete (reference)", bare_s, args.changes)
            shutil.rmtree(work / "bare-hudi", ignore_errors=True)
            _progress("3/4 snapshot sink: full load, then the CDC batch (merge job code) ...", begun)
            load_s, cdc_s, _, result = _spark_merge(spark, work / "landing", work / "lake", "snapshot")
            figure("snapshot sink full load", load_s, args.rows)
            figure("snapshot sink CDC merge (merge job)", cdc_s, args.changes)
            snapshot_base = TableLayout(f"file://{work / 'lake'}", "bench", "events").version_uri(1)
            _bench_small_batch(spark, work, args.rows, args.small_changes, args.seed)
        finally:
            spark.stop()
        # DuckDB applies the same batch to the version the full load produced (kept by retention)
        _progress("4/4 duckdb: the same net change on the snapshot sink's base version ...", begun)
        base_files = [
            f.uri[len("file://") :] for f in list_files(snapshot_base) if f.uri.endswith(".parquet")
        ]
        duck_s, duck_rows = _duckdb_merge(work / "landing", base_files, work / "duckdb.parquet")
        figure("duckdb 2 threads net change (reference)", duck_s, args.changes)
        counts = {
            "hudi sink": hudi["rows_after"],
            "bare hudi": bare_rows,
            "snapshot sink": result["rows_after"],
        }
        if len({*counts.values(), duck_rows}) != 1:
            raise RuntimeError(f"the merges disagree on the row count: {counts}, duckdb {duck_rows}")
        print(
            f"net change: {result['inserted']:,} inserted, {result['updated']:,} updated, {result['deleted']:,} deleted; {result['rows_after']:,} rows after"
        )
        print(f"{'engine':<44}{'seconds':>10}{'changes/s':>14}")
        for name, seconds, count in figures:
            print(f"{name:<44}{seconds:>10.1f}{count / seconds:>14,.0f}")
        print(f"hudi sink / bare hudi time ratio: {hudi_s / bare_s:.2f}x")
        print(f"hudi sink / snapshot sink time ratio: {hudi_s / cdc_s:.2f}x")
        print(f"snapshot sink / duckdb time ratio: {cdc_s / duck_s:.1f}x", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
