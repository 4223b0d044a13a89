from __future__ import annotations

import json

from spark_jobs.common.task_result import RESULT_FILE_ENV, write_task_result


def test_result_goes_to_the_file_the_pod_wrapper_names(tmp_path, monkeypatch):
    target = tmp_path / "xcom" / "return.json"
    monkeypatch.setenv(RESULT_FILE_ENV, str(target))
    assert write_task_result({"batches": [["shop.orders"]]}) == target
    assert json.loads(target.read_text()) == {"batches": [["shop.orders"]]}


def test_nothing_is_written_outside_a_pod_task(monkeypatch):
    monkeypatch.delenv(RESULT_FILE_ENV, raising=False)
    assert write_task_result({"x": 1}) is None
