"""The sample DMS generator: deterministic, DMS-shaped, and exercising the hard cases."""

from __future__ import annotations

import io

import pyarrow.parquet as pq

from data_platform.local.dms_simulator import TABLES, ShopSimulation, main, write_sample_data
from spark_jobs.cdc.dms_files import classify


def _batches(seed: int, count: int):
    simulation = ShopSimulation(seed)
    return [simulation.next_batch() for _ in range(count)]


def test_same_seed_same_files_and_only_batch_matches(tmp_path):
    first, second = _batches(3, 3), _batches(3, 3)
    assert [b.files for b in first] == [b.files for b in second]
    summary = write_sample_data(f"file://{tmp_path}", seed=3, batches=3, only_batch=2)
    assert sorted(summary["files"]) == sorted(first[2].files)
    assert (tmp_path / "_expected" / "orders" / "state_batch=2.parquet").exists()
    assert not (tmp_path / "_expected" / "orders" / "state_batch=1.parquet").exists()


def test_files_follow_dms_naming_and_layout():
    full_load, cdc = _batches(1, 2)
    for path in [*full_load.files, *cdc.files]:
        db, schema, table, rel = path.split("/", 3)
        assert (db, schema) == ("shop", "public") and table in TABLES
        kind, file_format = classify(rel)
        assert file_format == TABLES[table].file_format
    assert any(p.endswith("orders/LOAD00000001.parquet") for p in full_load.files)
    assert any(p.startswith("shop/public/orders/2024/05/01/") for p in cdc.files)
    customers = next(data for p, data in full_load.files.items() if p.endswith("customers/LOAD00000001.csv"))
    assert (
        customers.decode().splitlines()[0]
        == "dms_commit_ts,customer_id,name,email,city,credit_limit,change_seq"
    )


def _cdc_rows(batch, table):
    rows = []
    for path, data in sorted(batch.files.items()):
        if f"/{table}/" in path and "LOAD" not in path:
            name = path.rsplit("/", 1)[-1]
            for index, row in enumerate(pq.read_table(io.BytesIO(data)).to_pylist()):
                rows.append((name, index, row))
    return rows


def test_cdc_batches_hold_the_hard_cases():
    _, cdc = _batches(5, 2)
    rows = _cdc_rows(cdc, "orders")
    by_key: dict[int, list] = {}
    for name, _index, row in rows:
        by_key.setdefault(row["order_id"], []).append((row["change_seq"], name, row))
    # several changes to one key, two of them in one transaction (same commit time)
    multi = [changes for changes in by_key.values() if len(changes) >= 4]
    assert multi
    commits = [c[2]["dms_commit_ts"] for c in sorted(multi[0])]
    assert len(commits) != len(set(commits))
    # out of order: the key's latest change is in an earlier-named file than an older change
    latest = max(multi[0])
    assert any(name > latest[1] for seq, name, _ in multi[0] if seq < latest[0])
    # delete then re-insert of one key in the batch
    ops = {k: [c[2]["Op"] for c in sorted(v)] for k, v in by_key.items()}
    assert any(o[:1] == ["D"] and "I" in o for o in ops.values())


def test_full_load_is_followed_by_changes_committed_before_the_transfer_time():
    full_load = _batches(2, 1)[0]
    load = pq.read_table(io.BytesIO(full_load.files["shop/public/payments/LOAD00000001.parquet"])).to_pylist()
    cached = [r for p, i, r in _cdc_rows(full_load, "payments")]
    assert cached and max(r["dms_commit_ts"] for r in cached) < load[0]["dms_commit_ts"]
    assert all(r["change_seq"] is None for r in load)


def test_cli_writes_batches(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--batches", "2", "--seed", "9"]) == 0
    assert "DMS files" in capsys.readouterr().out
    assert (tmp_path / "shop" / "public" / "customers" / "LOAD00000002.csv").exists()
    assert (tmp_path / "_expected" / "payments" / "changes_batch=1.parquet").exists()
