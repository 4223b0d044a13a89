"""Lake layout of a CDC table (the paths other tasks rely on)."""

from __future__ import annotations

import pytest

from spark_jobs.cdc.layout import landing_table_uri, table_layout


def test_layout_paths():
    layout = table_layout("s3://lake/root/", "shop.orders")
    assert layout.table_root == "s3://lake/root/cdc/shop/orders"
    assert layout.pointer_uri == "s3://lake/root/cdc/shop/orders/_current.json"
    assert layout.version_uri(3) == "s3://lake/root/cdc/shop/orders/versions/v=3"
    assert layout.hudi_uri == "s3://lake/root/cdc/shop/orders/hudi"
    assert layout.state_uri == "s3://lake/root/_state/cdc/shop/orders/state.json"
    assert layout.lock_root == "s3://lake/root/_state/cdc/shop/orders/lock"
    # Airflow run ids carry ':' and '+': folder names keep them readable but safe
    run_id = "scheduled__2024-05-01T10:00:00+00:00"
    assert (
        layout.changes_uri(run_id)
        == "s3://lake/root/cdc/shop/orders/changes/run=scheduled__2024-05-01T10_00_00_00_00"
    )
    assert layout.result_uri(run_id).endswith(
        "/_state/cdc/shop/orders/history/scheduled__2024-05-01T10_00_00_00_00.json"
    )
    assert (
        layout.quarantine_uri(run_id)
        == "s3://lake/root/_quarantine/cdc/shop/orders/scheduled__2024-05-01T10_00_00_00_00"
    )
    assert landing_table_uri("s3://landing/", "shop/public/orders") == "s3://landing/shop/public/orders"


def test_table_id_must_have_database_and_table():
    with pytest.raises(ValueError, match="must be '<database>.<table>'"):
        table_layout("s3://lake", "orders")
