"""Canary events: a small, deterministic day of synthetic events written to the lake.

The ``platform_smoke`` DAG sends them through the same path every pipeline uses (lake ->
warehouse load -> data-quality checks), so a broken environment shows up in one small DAG.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from data_platform.settings import PlatformSettings

EVENT_TYPES = ("page_view", "add_to_cart", "checkout", "refund")
DEFAULT_ROWS = 1000
COLUMNS = ("event_id", "event_day", "event_type", "user_id", "amount", "occurred_at")


def canary_rows(day: date, rows: int) -> dict[str, list]:
    """``rows`` events for ``day``; the same day always gives the same events."""
    rng = random.Random(day.toordinal())
    start = datetime(day.year, day.month, day.day)
    data: dict[str, list] = {name: [] for name in COLUMNS}
    for index in range(rows):
        data["event_id"].append(f"{day:%Y%m%d}-{index:06d}")
        data["event_day"].append(day)
        data["event_type"].append(rng.choice(EVENT_TYPES))
        data["user_id"].append(rng.randint(1, 500))
        data["amount"].append(round(rng.uniform(0, 250), 2))
        data["occurred_at"].append(start + timedelta(seconds=rng.randint(0, 86_399)))
    return data


def write_canary_events(day: str | None, rows: int = DEFAULT_ROWS) -> dict:
    """Write the canary events of ``day`` (YYYY-MM-DD) to the lake; rerunning overwrites them."""
    if not day:
        raise ValueError("The canary writes the events of its run's day: trigger it with a logical date.")
    import pyarrow as pa
    import pyarrow.parquet as pq
    from airflow.sdk import ObjectStoragePath

    from data_platform.settings import get_settings

    settings = get_settings()
    table = pa.table(canary_rows(date.fromisoformat(day), rows))
    target = ObjectStoragePath(
        settings.lake_uri("canary", "events", f"event_day={day}", "events.parquet"),
        conn_id=settings.aws_conn_id,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        pq.write_table(table, handle)
    return {"rows_out": table.num_rows, "uris": [str(target)]}


def verify_warehouse(settings: PlatformSettings) -> str:
    """Demo check: every canary day in the warehouse equals the events generated for it."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(settings.warehouse_conn_id).get_hook()
    assert isinstance(hook, DbApiHook)
    days = hook.get_records(
        "SELECT event_day, COUNT(*), SUM(amount) FROM canary.events GROUP BY event_day ORDER BY 1"
    )
    assert days, "canary.events is empty"
    for day, count, total in days:
        expected = canary_rows(day, DEFAULT_ROWS)
        assert count == DEFAULT_ROWS, f"{day}: {count} rows, expected {DEFAULT_ROWS}"
        assert round(float(total), 2) == round(sum(expected["amount"]), 2), f"{day}: amounts differ"
    return f"{len(days)} day(s) of canary.events equal the generated events"
