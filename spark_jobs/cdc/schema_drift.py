"""Schema drift of incoming files against the last successful load.

Added columns are compatible (older rows get NULL) and are applied and reported; a removed
column or a changed type fails the table's load with the files and columns named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class DriftReport:
    added: list[tuple[str, str]] = field(default_factory=list)
    """Compatible new columns (name, Spark SQL type), in order of appearance."""
    problems: list[tuple[list[str], str]] = field(default_factory=list)
    """(files, reason) for each incompatible change."""


def check_drift(
    previous: Sequence[tuple[str, str]] | None,
    groups: Sequence[tuple[list[str], dict[str, str]]],
) -> DriftReport:
    """Compare each file group's columns ``(files, {name: type})`` with the previous schema.

    Without a previous schema (first load) only disagreements between groups are problems.
    """
    report = DriftReport()
    known = dict(previous or [])
    seen: dict[str, tuple[str, list[str]]] = {}
    for files, types in groups:
        if previous is not None:
            removed = [name for name in known if name not in types]
            if removed:
                report.problems.append((files, f"columns {removed} of the last successful load are missing"))
            retyped = [f"{n} {known[n]} -> {t}" for n, t in types.items() if n in known and known[n] != t]
            if retyped:
                report.problems.append(
                    (files, f"column types changed since the last successful load: {retyped}")
                )
        for name, spark_type in types.items():
            if name in known and previous is not None:
                continue
            if name in seen and seen[name][0] != spark_type:
                report.problems.append(
                    (
                        sorted({*files, *seen[name][1]}),
                        f"column {name} is {seen[name][0]} in some files and {spark_type} in others",
                    )
                )
                continue
            if name not in seen:
                seen[name] = (spark_type, files)
                if previous is not None:
                    report.added.append((name, spark_type))
    if previous is None:
        report.added = []
    return report
