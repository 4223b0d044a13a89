"""The demo's prepare/verify hooks run in the demo process: their Airflow log lines and library
warnings go to the DAG's log file, never into the console summary."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from data_platform.paths import REPO_ROOT

HOOK = textwrap.dedent(
    """
    import sys
    import warnings
    from pathlib import Path

    from airflow.providers.common.sql.hooks.sql import DbApiHook

    from data_platform.local import demo


    class WarehouseHook(DbApiHook):
        conn_name_attr = "warehouse_conn_id"


    def verify(settings):
        WarehouseHook().log.info("Running statement: SELECT count(*) FROM shop.orders")
        warnings.warn("GitWildMatchPattern ('gitwildmatch') is deprecated", DeprecationWarning)
        import subprocess
        subprocess.run([sys.executable, "-c", "print('child output')"], check=True)
        return "42 rows match"


    demo.verify_hook = verify  # a reference _call can import
    print("before")
    print(demo._call("data_platform.local.demo:verify_hook", Path(sys.argv[1]), None))
    print("after")
    """
)


def test_a_hook_writes_its_logs_and_warnings_to_the_log_file_not_the_console(tmp_path):
    log_file = tmp_path / "cdc_hourly.log"
    log_file.write_text("earlier run output\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "plugins"), str(REPO_ROOT)])}
    env["PYTHONWARNINGS"] = "always::DeprecationWarning"
    result = subprocess.run(
        [sys.executable, "-c", HOOK, str(log_file)], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-3:] == ["before", "42 rows match", "after"]
    console = result.stdout + result.stderr
    assert "Running statement" not in console and "GitWildMatchPattern" not in console
    assert "child output" not in console
    log = log_file.read_text()
    assert log.startswith("earlier run output\n")  # appended, the run's log kept
    assert "Running statement: SELECT count(*) FROM shop.orders" in log
    assert "GitWildMatchPattern" in log
    assert "child output" in log
