"""Local target: the pod's command runs as a real local process."""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import timedelta

import psutil
import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowSkipException, AirflowTaskTimeout
from pod_testing import make_task, run_context
from structlog.testing import capture_logs

from data_platform.paths import REPO_ROOT

JOB = ["python", "-m", "tests.pod.sample_job"]
SECRET_PASSWORD = "pa55-w0rd-never-logged"


def logged_lines(events) -> list[str]:
    return [str(event["event"]) for event in events]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_success_runs_the_module_from_the_checkout(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", '{"conn_type": "postgres", "host": "localhost"}')
    task = make_task(
        cmds=JOB, arguments=["report", "a b", "--date=2026-11-23"], env_vars={"GREETING": "hello"}
    )
    with capture_logs() as events:
        assert task.execute(run_context(task)) is None
    lines = logged_lines(events)
    assert any(line == f"cwd={REPO_ROOT}" for line in lines)
    assert any(line == f"executable={sys.executable}" for line in lines)
    assert any('args=["a b", "--date=2026-11-23"]' in line for line in lines)
    assert any("GREETING=hello" in line for line in lines)
    # Connections of the worker reach the job only when declared with secrets=.
    assert any("warehouse_conn_visible=False" in line for line in lines)


def test_python_dash_c_works_too():
    task = make_task(cmds=["python", "-c", "import spark_jobs, sys; print(sys.version_info[:2])"])
    with capture_logs() as events:
        task.execute(run_context(task))
    assert any(str(tuple(sys.version_info[:2])) in line for line in logged_lines(events))


def test_non_zero_exit_fails_with_the_code_and_last_lines():
    task = make_task(cmds=JOB, arguments=["fail", "3"])
    with pytest.raises(AirflowException) as err:
        task.execute(run_context(task))
    message = str(err.value)
    assert "command exited with code 3" in message
    assert "line 29" in message and "something broke" in message
    assert "line 5\n" not in message  # only the last lines


def test_skip_on_exit_code_skips():
    task = make_task(cmds=JOB, arguments=["fail", "99"], skip_on_exit_code=99)
    with pytest.raises(AirflowSkipException):
        task.execute(run_context(task))


def test_xcom_return_value_comes_from_the_return_file():
    task = make_task(cmds=JOB, arguments=["xcom"], do_xcom_push=True)
    assert task.execute(run_context(task)) == {"batches": [["orders", "customers"]]}


def test_execution_timeout_kills_the_process_group(tmp_path, monkeypatch):
    from data_platform.process import LocalProcess

    pids = tmp_path / "pids.json"
    supervise = LocalProcess._supervise

    def supervise_once_the_job_runs(self, process):
        # The timeout starts counting when the job has reported its pids, however slow the start.
        while process.poll() is None and not (pids.exists() and pids.read_text().endswith("}")):
            time.sleep(0.05)
        supervise(self, process)

    monkeypatch.setattr(LocalProcess, "_supervise", supervise_once_the_job_runs)
    task = make_task(cmds=JOB, arguments=["hang", str(pids)], execution_timeout=timedelta(seconds=3))
    with pytest.raises(AirflowTaskTimeout, match=r"execution_timeout \(3s\).*\nstarted"):
        task.execute(run_context(task))
    started = json.loads(pids.read_text())
    wait_for(lambda: gone(started["job"]) and gone(started["grandchild"]), timeout=5)


def test_on_kill_terminates_the_process_group(tmp_path):
    pids = tmp_path / "pids.json"
    task = make_task(cmds=JOB, arguments=["hang", str(pids)])
    outcome: dict[str, BaseException] = {}

    def run() -> None:
        try:
            task.execute(run_context(task))
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            outcome["error"] = err

    runner = threading.Thread(target=run)
    runner.start()
    wait_for(lambda: pids.exists() and pids.read_text().endswith("}"))
    started = json.loads(pids.read_text())
    task.on_kill()
    runner.join(30)
    assert not runner.is_alive()
    assert isinstance(outcome.get("error"), AirflowException)
    assert "was killed" in str(outcome["error"])
    wait_for(lambda: gone(started["job"]) and gone(started["grandchild"]), timeout=5)


def test_secrets_reach_the_job_but_never_the_logs_or_rendered_fields(monkeypatch):
    connection = {
        "conn_type": "http",
        "host": "jira.example.com",
        "login": "bot",
        "password": SECRET_PASSWORD,
    }
    monkeypatch.setenv("AIRFLOW_CONN_JIRA_API", json.dumps(connection))
    task = make_task(cmds=JOB, arguments=["leak-secret"], secrets=["jira"])
    with capture_logs() as events:
        task.execute(run_context(task))
    text = "\n".join(logged_lines(events))
    assert "password is ***" in text  # the job did receive it, and printed it
    assert SECRET_PASSWORD not in text
    rendered = json.dumps({field: repr(getattr(task, field)) for field in task.template_fields})
    assert SECRET_PASSWORD not in rendered
    assert SECRET_PASSWORD not in repr(task.build_pod_request_obj(run_context(task), dry_run=True).to_dict())
