"""Sample source database ``shop`` replicated by a simulated AWS DMS task (no Spark needed).

    python -m data_platform.local.dms_simulator --out file:///tmp/landing --seed 7 --batches 4 \\
        [--only-batch K] [--expected-out URI] [--scale N]

Writes DMS-shaped files under ``<out>/shop/public/<table>/``:

- batch 0: the full load (``LOAD0000000N`` files, no Op column, the DMS timestamp column
  holding the transfer time) plus one CDC file of changes cached during the load, committed
  *before* the transfer time;
- batches 1..K-1: CDC files (``Op`` first; ``dms_commit_ts`` = commit time; ``change_seq`` =
  a 35-digit change sequence like ``$AR_H_CHANGE_SEQ``), ``orders`` in DMS date folders.

Every CDC batch has several changes to one key (also twice in one transaction), a delete then
re-insert of one key, and rows spread over files out of commit order: a later file name holds
earlier commits, and the last change of a key sits in the batch's earliest file.

Tables: ``customers`` (CSV with header, single key), ``orders`` (Parquet, partitioned by
``order_date``, whose value can change), ``order_items`` (CSV without header, composite key),
``payments`` (Parquet, configured as a historical table).

The expected source state after each batch and every change row so far are written to
``<expected-out>/<table>/state_batch=<k>.parquet`` and ``changes_batch=<k>.parquet``
(default ``<out>/_expected``).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from spark_jobs.common.args import positive_int_arg, uri_arg
from spark_jobs.common.lake import join_uri, write_atomic

SOURCE_DB = "shop"
SOURCE_SCHEMA = "public"
TIMESTAMP_COLUMN = "dms_commit_ts"
SEQUENCE_COLUMN = "change_seq"
_START = datetime(2024, 5, 1, 0, 0, 0)
_NAMES = ["Ann", "Bob", "Chloé", 'Dan "the man"', "Smith, Eve", "Zoë", "Multi\nLine", "Li"]
_CITIES = ["Lisbon", "Oslo", "Kraków", None, "São Paulo"]
_PRODUCTS = ["pen", "ink, blue", "paper", 'book "A"', "lamp"]


@dataclass(frozen=True)
class SampleTable:
    name: str
    key: tuple[str, ...]
    file_format: str
    header: bool
    date_folders: bool
    columns: tuple[tuple[str, str], ...]
    """(name, type) with types: bigint, int, string, date, timestamp, decimal(p,s)."""
    initial_rows: int
    changes_per_batch: int


TABLES: dict[str, SampleTable] = {
    "customers": SampleTable(
        "customers",
        ("customer_id",),
        "csv",
        True,
        False,
        (
            ("customer_id", "bigint"),
            ("name", "string"),
            ("email", "string"),
            ("city", "string"),
            ("credit_limit", "decimal(12,2)"),
        ),
        24,
        10,
    ),
    "orders": SampleTable(
        "orders",
        ("order_id",),
        "parquet",
        True,
        True,
        (
            ("order_id", "bigint"),
            ("customer_id", "bigint"),
            ("order_date", "date"),
            ("status", "string"),
            ("amount", "decimal(12,2)"),
        ),
        30,
        12,
    ),
    "order_items": SampleTable(
        "order_items",
        ("order_id", "line_no"),
        "csv",
        False,
        False,
        (
            ("order_id", "bigint"),
            ("line_no", "int"),
            ("product", "string"),
            ("quantity", "int"),
            ("unit_price", "decimal(10,2)"),
        ),
        40,
        12,
    ),
    "payments": SampleTable(
        "payments",
        ("payment_id",),
        "parquet",
        True,
        False,
        (
            ("payment_id", "bigint"),
            ("order_id", "bigint"),
            ("method", "string"),
            ("amount", "decimal(12,2)"),
            ("paid_at", "timestamp"),
        ),
        20,
        10,
    ),
}


def file_columns(table: SampleTable, with_op: bool) -> list[str]:
    """Columns in DMS file order: [Op], timestamp column, source columns, change sequence."""
    return [*(["Op"] if with_op else []), TIMESTAMP_COLUMN, *(c for c, _ in table.columns), SEQUENCE_COLUMN]


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass
class _Change:
    op: str
    row: dict[str, Any]
    commit: datetime
    seq: str


@dataclass
class _TableSim:
    spec: SampleTable
    rng: random.Random
    rows: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1
    changes: list[dict[str, Any]] = field(default_factory=list)

    def key_of(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in self.spec.key)

    def values(self, key: tuple[Any, ...]) -> dict[str, Any]:
        rng = self.rng
        money = Decimal(rng.randint(100, 99999)) / 100
        builders: dict[str, Callable[[], dict[str, Any]]] = {
            "customers": lambda: {
                "name": rng.choice(_NAMES),
                "email": f"user{key[0]}.{rng.randint(1, 99)}@example.com",
                "city": rng.choice(_CITIES),
                "credit_limit": money,
            },
            "orders": lambda: {
                "customer_id": rng.randint(1, 30),
                "order_date": date(2024, 4, 28) + timedelta(days=rng.randint(0, 6)),
                "status": rng.choice(["new", "paid", "shipped"]),
                "amount": money,
            },
            "order_items": lambda: {
                "product": rng.choice(_PRODUCTS),
                "quantity": rng.randint(1, 9),
                "unit_price": money,
            },
            "payments": lambda: {
                "order_id": rng.randint(1, 40),
                "method": rng.choice(["card", "bank", "cash"]),
                "amount": money,
                "paid_at": _START + timedelta(seconds=rng.randint(0, 10**6)),
            },
        }
        return {**dict(zip(self.spec.key, key, strict=True)), **builders[self.spec.name]()}

    def new_key(self) -> tuple[Any, ...]:
        if self.spec.name == "order_items":
            order_id = self.rng.randint(1, 12)
            used = [k[1] for k in self.rows if k[0] == order_id]
            return (order_id, max(used, default=0) + 1)
        key = (self.next_id,)
        self.next_id += 1
        return key


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start
        self.counter = 0

    def tick(self, rng: random.Random) -> datetime:
        self.now += timedelta(microseconds=rng.randint(1_000, 900_000))
        return self.now

    def seq(self, commit: datetime) -> str:
        self.counter += 1
        return f"{commit.strftime('%Y%m%d%H%M%S%f')}{self.counter:015d}"


@dataclass
class BatchFiles:
    """One batch: files (landing path -> bytes) and the expected state / changes after it."""

    files: dict[str, bytes]
    state: dict[str, list[dict[str, Any]]]
    changes: dict[str, list[dict[str, Any]]]


def _encode_csv(table: SampleTable, records: list[dict[str, Any]], with_op: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = file_columns(table, with_op)
    if table.header:
        writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else str(record[c]) for c in columns])
    return buffer.getvalue().encode()


def _arrow_type(spark_type: str) -> Any:
    import pyarrow as pa

    if spark_type.startswith("decimal"):
        precision, scale = spark_type[len("decimal(") : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return {
        "bigint": pa.int64(),
        "int": pa.int32(),
        "string": pa.string(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
    }[spark_type]


def arrow_schema(table: SampleTable, with_op: bool = False, extra: tuple[str, ...] = ()) -> Any:
    """Arrow schema of the table's files (or of the expected outputs with ``extra`` columns)."""
    import pyarrow as pa

    types = dict(table.columns)
    fields = []
    for name in [*file_columns(table, with_op), *extra]:
        fields.append(pa.field(name, _arrow_type(types[name]) if name in types else pa.string()))
    return pa.schema(fields)


def _encode_parquet(table: SampleTable, records: list[dict[str, Any]], with_op: bool) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(table, with_op)
    data = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in records], schema=schema)
    sink = io.BytesIO()
    pq.write_table(data, sink)
    return sink.getvalue()


def _encode(table: SampleTable, records: list[dict[str, Any]], with_op: bool) -> bytes:
    return (_encode_csv if table.file_format == "csv" else _encode_parquet)(table, records, with_op)


def _cdc_name(table: SampleTable, moment: datetime) -> str:
    name = moment.strftime("%Y%m%d-%H%M%S") + f"{moment.microsecond // 1000:03d}.{table.file_format}"
    return (moment.strftime("%Y/%m/%d/") if table.date_folders else "") + name


class ShopSimulation:
    """Deterministic simulation of the ``shop`` database and its DMS output, batch by batch."""

    def __init__(self, seed: int = 7, scale: int = 1) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.sims = {name: _TableSim(spec, random.Random(f"{seed}-{name}")) for name, spec in TABLES.items()}
        self.batch = 0

    def _record(self, sim: _TableSim, change: _Change) -> dict[str, Any]:
        return {
            "Op": change.op,
            TIMESTAMP_COLUMN: _ts(change.commit),
            **change.row,
            SEQUENCE_COLUMN: change.seq,
        }

    def _apply(self, sim: _TableSim, change: _Change) -> None:
        key = sim.key_of(change.row)
        if change.op == "D":
            sim.rows.pop(key, None)
        else:
            sim.rows[key] = {**change.row, TIMESTAMP_COLUMN: _ts(change.commit), SEQUENCE_COLUMN: change.seq}
        sim.changes.append(
            {**change.row, TIMESTAMP_COLUMN: _ts(change.commit), SEQUENCE_COLUMN: change.seq, "op": change.op}
        )

    def _change(
        self, sim: _TableSim, clock: _Clock, op: str, key: tuple[Any, ...], commit: datetime | None = None
    ) -> _Change:
        commit = commit or clock.tick(sim.rng)
        row = sim.values(key) if op != "D" else {c: sim.rows[key][c] for c, _ in sim.spec.columns}
        change = _Change(op, row, commit, clock.seq(commit))
        self._apply(sim, change)
        return change

    def _random_changes(self, sim: _TableSim, clock: _Clock, count: int) -> list[_Change]:
        changes: list[_Change] = []
        for _ in range(count):
            roll = sim.rng.random()
            if roll < 0.35 or len(sim.rows) < 3:
                changes.append(self._change(sim, clock, "I", sim.new_key()))
            elif roll < 0.8:
                changes.append(self._change(sim, clock, "U", sim.rng.choice(sorted(sim.rows))))
            else:
                changes.append(self._change(sim, clock, "D", sim.rng.choice(sorted(sim.rows))))
        return changes

    def _full_load(self, sim: _TableSim, clock: _Clock) -> tuple[dict[str, bytes], list[_Change]]:
        spec = sim.spec
        for _ in range(spec.initial_rows * self.scale):
            key = sim.new_key()
            sim.rows[key] = {**sim.values(key), TIMESTAMP_COLUMN: None, SEQUENCE_COLUMN: None}
        # Changes committed while the load runs: DMS caches them and writes them after the load,
        # although their commit time is before the load's transfer time.
        snapshot = {k: dict(v) for k, v in sim.rows.items()}
        cached = self._random_changes(sim, clock, 4)
        transfer = clock.now + timedelta(seconds=30)
        load_rows = [
            {**row, TIMESTAMP_COLUMN: _ts(transfer), SEQUENCE_COLUMN: None}
            for _, row in sorted(snapshot.items())
        ]
        for key in sim.rows:  # state as DMS leaves it: load rows carry the transfer time
            if key in snapshot and not any(sim.key_of(c.row) == key for c in cached):
                sim.rows[key] = {**sim.rows[key], TIMESTAMP_COLUMN: _ts(transfer)}
        sim.changes[:0] = [{**r, "op": "I"} for r in load_rows]
        half = (len(load_rows) + 1) // 2
        files = {
            f"LOAD00000001.{spec.file_format}": _encode(spec, load_rows[:half], with_op=False),
            f"LOAD00000002.{spec.file_format}": _encode(spec, load_rows[half:], with_op=False),
        }
        return files, cached

    def _cdc_batch(self, sim: _TableSim, clock: _Clock) -> list[_Change]:
        rng = sim.rng
        hot = rng.choice(sorted(sim.rows))
        first = self._change(sim, clock, "U", hot)
        commit = clock.tick(rng)  # one transaction updating the same key twice
        twice = [self._change(sim, clock, "U", hot, commit), self._change(sim, clock, "U", hot, commit)]
        gone = rng.choice(sorted(k for k in sim.rows if k != hot))
        delete_reinsert = [self._change(sim, clock, "D", gone)]
        middle = self._random_changes(sim, clock, sim.spec.changes_per_batch * self.scale)
        delete_reinsert.append(self._change(sim, clock, "I", gone))
        last = self._change(sim, clock, "U", hot) if hot in sim.rows else self._change(sim, clock, "I", hot)
        return [first, *twice, *delete_reinsert[:1], *middle, delete_reinsert[1], last]

    def _split_out_of_order(
        self, sim: _TableSim, changes: list[_Change], hot_first: _Change, hot_last: _Change
    ) -> list[list[_Change]]:
        """Three files; rows sorted by commit inside a file, but not across files."""
        files: list[list[_Change]] = [[], [], []]
        for change in changes:
            if change is hot_last:
                files[0].append(change)  # the key's latest change in the earliest file name
            elif change is hot_first:
                files[2].append(change)
            else:
                files[sim.rng.randrange(3)].append(change)
        return [sorted(f, key=lambda c: c.seq) for f in files if f]

    def next_batch(self) -> BatchFiles:
        """Simulate the next batch and return its files and the expected state after it."""
        files: dict[str, bytes] = {}
        base = _START + timedelta(hours=self.batch)
        for name, sim in self.sims.items():
            spec = sim.spec
            clock = _Clock(base)
            clock.counter = self.batch * 10**6
            folder = f"{SOURCE_DB}/{SOURCE_SCHEMA}/{name}"
            if self.batch == 0:
                load_files, cached = self._full_load(sim, clock)
                files.update({f"{folder}/{n}": data for n, data in load_files.items()})
                groups = [cached]
                file_time = clock.now + timedelta(minutes=1)
            else:
                changes = self._cdc_batch(sim, clock)
                groups = self._split_out_of_order(sim, changes, changes[0], changes[-1])
                file_time = clock.now + timedelta(seconds=5)
            for index, group in enumerate(groups):
                moment = file_time + timedelta(seconds=2 * index)
                records = [self._record(sim, c) for c in group]
                files[f"{folder}/{_cdc_name(spec, moment)}"] = _encode(spec, records, with_op=True)
        self.batch += 1
        state = {name: [dict(r) for _, r in sorted(sim.rows.items())] for name, sim in self.sims.items()}
        expected_changes = {name: [dict(c) for c in sim.changes] for name, sim in self.sims.items()}
        return BatchFiles(files, state, expected_changes)


def _write_table(
    uri: str, table: SampleTable, rows: list[dict[str, Any]], extra: tuple[str, ...] = ()
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(table, with_op=False, extra=extra)
    data = pa.Table.from_pylist([{c: r.get(c) for c in schema.names} for r in rows], schema=schema)
    sink = io.BytesIO()
    pq.write_table(data, sink)
    write_atomic(uri, sink.getvalue())


def write_sample_data(
    out: str,
    seed: int = 7,
    batches: int = 4,
    only_batch: int | None = None,
    expected_out: str | None = None,
    scale: int = 1,
) -> dict[str, Any]:
    """Write batches ``0..batches-1`` (or just ``only_batch``) and the expected outputs.

    The simulation is deterministic: the same seed always gives the same files, so batches
    can be landed one at a time with ``only_batch``.
    """
    expected_out = expected_out or join_uri(out, "_expected")
    simulation = ShopSimulation(seed, scale)
    last = only_batch if only_batch is not None else batches - 1
    written: list[str] = []
    for number in range(last + 1):
        batch = simulation.next_batch()
        if only_batch is not None and number != only_batch:
            continue
        for rel_path, data in sorted(batch.files.items()):
            write_atomic(join_uri(out, rel_path), data)
            written.append(rel_path)
        for name, spec in TABLES.items():
            _write_table(
                join_uri(expected_out, name, f"state_batch={number}.parquet"), spec, batch.state[name]
            )
            _write_table(
                join_uri(expected_out, name, f"changes_batch={number}.parquet"),
                spec,
                batch.changes[name],
                extra=("op",),
            )
    return {"out": out, "expected_out": expected_out, "batches": last + 1, "files": written}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_platform.local.dms_simulator", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=uri_arg, required=True, help="landing root to write DMS files to")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batches", type=positive_int_arg, default=4)
    parser.add_argument("--only-batch", type=int, default=None, help="write only this batch (0-based)")
    parser.add_argument("--expected-out", type=uri_arg, default=None, help="default: <out>/_expected")
    parser.add_argument("--scale", type=positive_int_arg, default=1, help="multiplies row and change counts")
    args = parser.parse_args(argv)
    if args.only_batch is not None and args.only_batch < 0:
        parser.error("--only-batch must be >= 0")
    summary = write_sample_data(
        args.out, args.seed, args.batches, args.only_batch, args.expected_out, args.scale
    )
    print(
        f"wrote {len(summary['files'])} DMS files to {args.out}; expected state in {summary['expected_out']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
