"""The local process supervisor's output: one stream into the task log by default; with an
``on_output`` hook, stdout and stderr apart (each line redacted, also in the task log)."""

from __future__ import annotations

import sys
from typing import Any

from data_platform.process import LocalProcess

CHILD = (
    "import sys\n"
    "print('out 1', flush=True)\n"
    "print('err 1 token-s3cr3t', file=sys.stderr, flush=True)\n"
    "print('out 2', flush=True)\n"
)


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, event: str, *args: Any) -> None:
        self.lines.append(event % args)

    def warning(self, event: str, *args: Any) -> None:
        self.lines.append(event % args)


def run(tmp_path, **kwargs: Any) -> tuple[Log, Any]:
    log = Log()
    process = LocalProcess(
        [sys.executable, "-c", CHILD],
        env={},
        log=log,
        cwd=tmp_path,
        redact=lambda line: line.replace("s3cr3t", "***"),
        **kwargs,
    )
    return log, process.run()


def test_without_a_hook_stderr_joins_stdout(tmp_path):
    log, result = run(tmp_path)
    assert result.returncode == 0
    assert log.lines == ["out 1", "err 1 token-***", "out 2"]


def test_the_hook_gets_each_stream_apart_redacted(tmp_path):
    seen: list[tuple[str, str]] = []
    log, result = run(tmp_path, on_output=lambda stream, line: seen.append((stream, line)), label="job")
    assert result.returncode == 0
    assert [line for stream, line in seen if stream == "stdout"] == ["out 1", "out 2"]
    assert [line for stream, line in seen if stream == "stderr"] == ["err 1 token-***"]
    assert sorted(log.lines[1:]) == ["[job] err 1 token-***", "[job] out 1", "[job] out 2"]
    assert sorted(result.tail) == ["err 1 token-***", "out 1", "out 2"]
