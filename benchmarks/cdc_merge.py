"""CDC merge throughput: 1M DMS changes against a 1M-row table, local Spark vs DuckDB.

    python -m benchmarks.cdc_merge [--rows 1000000] [--changes 1000000]

Generates (numpy/pyarrow) a DMS full load of ``--rows`` rows and one CDC batch of
``--changes`` changes (70% updates, 20% inserts, 10% deletes; keys drawn with replacement, so
many keys change several times; files written out of commit order), then:

1. Spark (the real merge job code, snapshot sink, local[2]): full load, then the CDC batch:
   read + validate + net change + change set + new table version + state commit;
2. DuckDB (single-node reference, same machine, same files): the same net change (latest
   change per key by commit time, sequence, file, row) applied to the same base version and
   written as Parquet.

Prints seconds and changes/s of each. The Spark figure includes work DuckDB does not do
(validation, bad-row split, counts, change set, state), so it is an upper bound of the cost.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

_BASE_TS = "2024-05-01 00:00:00.000000"


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
        }
    )
    for index, start in enumerate(range(0, rows, 250_000)):
        pq.write_table(load.slice(start, 250_000), table_dir / f"LOAD{index + 1:08X}.parquet")

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
        }
    )
    # 8 files; commit order is spread round-robin, so no file name order matches commit order
    for index in range(8):
        part = cdc.take(pa.array(order[index::8]))
        pq.write_table(part, table_dir / f"20240501-0100{index:02d}000.parquet")


def _spark_merge(folder: Path, lake: Path) -> tuple[float, float, dict, list[str]]:
    """Seconds of the full load and of the CDC merge, the CDC result, and the base version files."""
    from spark_jobs.cdc.merge import MergeSettings, merge_table
    from spark_jobs.cdc.outputs import current_files
    from spark_jobs.cdc.table_config import TableConfig
    from spark_jobs.common.session import build_spark_session, local_conf

    spark = build_spark_session("cdc-merge-benchmark", local_conf(shuffle_partitions=8, driver_memory="3g"))
    spark.sparkContext.setLogLevel("ERROR")
    config = TableConfig(
        source_db="bench",
        source_schema="public",
        source_table="events",
        primary_key=["id"],
        ordering_columns=["dms_commit_ts", "change_seq"],
        cadence="hourly",
        file_format="parquet",
    )
    cdc_files = sorted((folder / "bench" / "public" / "events").glob("2024*.parquet"))
    parked = folder / "parked"
    parked.mkdir()
    for path in cdc_files:  # land the full load first, then the CDC batch
        path.rename(parked / path.name)
    landing, lake_uri = f"file://{folder}", f"file://{lake}"
    started = time.perf_counter()
    load = merge_table(spark, config, MergeSettings(landing, lake_uri, run_id="full-load"))
    load_seconds = time.perf_counter() - started
    base_files = [f[len("file://") :] for f in current_files(lake_uri, "bench", "events")]
    for path in cdc_files:
        (parked / path.name).rename(path)
    started = time.perf_counter()
    result = merge_table(spark, config, MergeSettings(landing, lake_uri, run_id="cdc-1"))
    cdc_seconds = time.perf_counter() - started
    spark.stop()
    if load.status != "ok" or result.status != "ok":
        raise RuntimeError(f"benchmark merge failed: {load.error or result.error}")
    return load_seconds, cdc_seconds, result.to_dict(), base_files


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cdc_merge", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the table before the CDC batch")
    parser.add_argument("--changes", type=int, default=1_000_000, help="changes in the CDC batch")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="cdc-bench-"))
    try:
        started = time.perf_counter()
        _write_inputs(work / "landing", args.rows, args.changes, args.seed)
        print(
            f"inputs: {args.rows:,} rows full load + {args.changes:,} changes ({time.perf_counter() - started:.1f}s to generate)"
        )
        load_s, cdc_s, result, base_files = _spark_merge(work / "landing", work / "lake")
        # DuckDB applies the same batch to the version the full load produced (kept by retention)
        duck_s, duck_rows = _duckdb_merge(work / "landing", base_files, work / "duckdb.parquet")
        if duck_rows != result["rows_after"]:
            raise RuntimeError(
                f"Spark wrote {result['rows_after']} rows, DuckDB {duck_rows}: the merges disagree"
            )
        print(
            f"net change: {result['inserted']:,} inserted, {result['updated']:,} updated, {result['deleted']:,} deleted; {result['rows_after']:,} rows after"
        )
        print(f"{'engine':<34}{'seconds':>10}{'changes/s':>14}")
        print(f"{'spark local[2] full load':<34}{load_s:>10.1f}{args.rows / load_s:>14,.0f}")
        print(f"{'spark local[2] CDC merge':<34}{cdc_s:>10.1f}{args.changes / cdc_s:>14,.0f}")
        print(f"{'duckdb 2 threads (reference)':<34}{duck_s:>10.1f}{args.changes / duck_s:>14,.0f}")
        print(f"spark / duckdb time ratio: {cdc_s / duck_s:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
