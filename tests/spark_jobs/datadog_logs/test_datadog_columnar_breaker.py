"""Edge cases of the column-wise batches (:mod:`spark_jobs.datadog_logs.columnar`) found by
hostile inputs: each holds what the parser and the entry builder's record path (the reference)
give for the same text."""

from __future__ import annotations

from test_datadog_columnar import builder, columnwise, reference


def same_as_reference(tmp_path, data: bytes, final: bool = True) -> None:
    fast, slow = builder(tmp_path), builder(tmp_path)
    assert columnwise(data, final, fast) == reference(data, final, slow)
    assert fast.late == slow.late


def test_an_empty_thread_in_brackets_is_no_thread_name(tmp_path):
    """``[]`` after the level (or both before and after) is an empty thread: the reference leaves
    ``logger.thread_name`` out, as it does for ``[]`` before the level."""
    for head in ("INFO []", "[] INFO []", "[] INFO"):
        same_as_reference(tmp_path, f"2026-01-15 10:00:03 {head} Foo: x\n".encode())


def test_a_late_record_built_by_the_record_path_counts_once(tmp_path):
    """A log4j record older than the intake keeps whose message has a control character (left to
    the record path) is one late entry, not two."""
    same_as_reference(tmp_path, b"26/01/13 10:00:01 INFO Old: a bell \x07\n")


def test_a_large_record_beyond_ascii_is_split_as_the_reference_splits_it(tmp_path):
    """The reference measures an entry as ASCII JSON (``\\u00e9``: 6 bytes); 400,000 ``é`` (800 kB of
    UTF-8, 2.4 MB as ASCII JSON) are split into parts there, so here too."""
    same_as_reference(tmp_path, ("\u00e9" * 400_000).encode() + b"\nafter\n")
