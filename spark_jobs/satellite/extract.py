"""From a day's product files to one row per point per slot (no Spark here: the job runs
:func:`extract_files` in its Python workers and :func:`assemble_day` on the driver).

Bad files never become zeros and never vanish: each is reported with its name, kind and the
action the policy took (``skip``: the day goes on without it, its slot is reported; ``fail``:
the day is not written and the job fails naming the files). Layout changes (other chunking or
compression than the reference) do not change the values read; by default they are reported and
read (``on_layout_change: read``), or treated as bad with ``skip`` / ``fail``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from spark_jobs.satellite import product
from spark_jobs.satellite.points import Point
from spark_jobs.satellite.reader import LAYOUT_CHANGED, BadFileError, Reference, read_points

SKIP, FAIL, READ = "skip", "fail", "read"


@dataclass(frozen=True)
class BadFilePolicy:
    """``on_bad_file``: skip | fail; ``on_layout_change``: read | skip | fail."""

    on_bad_file: str = SKIP
    on_layout_change: str = READ

    def __post_init__(self) -> None:
        if self.on_bad_file not in (SKIP, FAIL):
            raise ValueError(f"on_bad_file must be skip or fail, got {self.on_bad_file!r}")
        if self.on_layout_change not in (READ, SKIP, FAIL):
            raise ValueError(f"on_layout_change must be read, skip or fail, got {self.on_layout_change!r}")

    def action(self, kind: str) -> str:
        return self.on_layout_change if kind == LAYOUT_CHANGED else self.on_bad_file


class BadFilesFailure(RuntimeError):
    """The policy says fail: raised with every bad file of the day named."""


def extract_files(uris: Iterable[str], reference: Reference) -> Iterator[dict[str, Any]]:
    """One plain (picklable) result per file: ``status`` ok with values, or bad with the error.

    A layout other than the reference's is read anyway and flagged in ``layout_changed``.
    """
    for uri in uris:
        try:
            values = read_points(uri, reference, check_layout=False)
        except BadFileError as exc:
            yield {"file": uri, "status": "bad", "kind": exc.kind, "message": exc.message}
            continue
        changed = {k: v for k, v in values.layout.items() if reference.layout.get(k) != v}
        yield {
            "file": uri,
            "status": "ok",
            "obs_time": values.obs_time.isoformat(),
            "dssf_tot": values.dssf_tot,
            "fraction_diffuse": values.fraction_diffuse,
            "quality_flag": values.quality_flag,
            "layout_changed": changed or None,
        }


@dataclass
class DayOutcome:
    """What one day's extraction produced and what it could not (all reported)."""

    day: date
    rows: dict[str, list[dict[str, Any]]]  # site_id -> rows ordered by obs_time
    files_read: int
    missing_slots: list[str]  # "HH:MM" of the expected slots without a usable file
    bad_files: list[dict[str, Any]] = field(default_factory=list)  # file, kind, message, action
    layout_changes: list[dict[str, Any]] = field(default_factory=list)  # file, layout (read anyway)
    ignored_files: list[str] = field(default_factory=list)  # names that are not product files

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def summary(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "files_read": self.files_read,
            "rows": self.row_count,
            "missing_slots": self.missing_slots,
            "bad_files": self.bad_files,
            "layout_changes": self.layout_changes,
            "ignored_files": self.ignored_files,
        }


def _bad(result: dict[str, Any], kind: str, message: str, policy: BadFilePolicy) -> dict[str, Any]:
    return {"file": result["file"], "kind": kind, "message": message, "action": policy.action(kind)}


def assemble_day(
    day: date,
    results: Sequence[dict[str, Any]],
    points: Sequence[Point],
    policy: BadFilePolicy,
    slots_per_day: int = product.SLOTS_PER_DAY,
    ignored_files: Sequence[str] = (),
) -> DayOutcome:
    """Rows of ``day`` from the per-file ``results`` of :func:`extract_files`.

    Raises :class:`BadFilesFailure` when a bad file's policy action is ``fail``.
    """
    bad, layout_changes, good = [], [], []
    for result in results:
        if result["status"] == "bad":
            bad.append(_bad(result, result["kind"], result["message"], policy))
            continue
        obs_time = datetime.fromisoformat(result["obs_time"])
        if obs_time.date() != day:
            bad.append(
                _bad(
                    result, "bad_time", f"observation time {obs_time:%Y-%m-%d %H:%M} is not on {day}", policy
                )
            )
            continue
        if result["layout_changed"]:
            if policy.on_layout_change != READ:
                bad.append(
                    _bad(
                        result, LAYOUT_CHANGED, f"storage layout changed: {result['layout_changed']}", policy
                    )
                )
                continue
            layout_changes.append({"file": result["file"], "layout": result["layout_changed"]})
        good.append((obs_time, result))
    failing = [b for b in bad if b["action"] == FAIL]
    if failing:
        lines = "; ".join(f"{b['file']}: {b['kind']}: {b['message']}" for b in failing)
        raise BadFilesFailure(f"{day}: {len(failing)} bad file(s), policy fail: {lines}")
    good.sort(key=lambda item: item[0])
    rows: dict[str, list[dict[str, Any]]] = {p.site_id: [] for p in points}
    for obs_time, result in good:
        name = result["file"].rsplit("/", 1)[-1]
        for index, point in enumerate(points):
            rows[point.site_id].append(
                {
                    "site_id": point.site_id,
                    "obs_time": obs_time.replace(tzinfo=None),
                    "obs_date": day,
                    "dssf_tot": result["dssf_tot"][index],
                    "fraction_diffuse": result["fraction_diffuse"][index],
                    "quality_flag": result["quality_flag"][index],
                    "source_file": name,
                }
            )
    present = {obs_time for obs_time, _ in good}
    missing = [f"{slot:%H:%M}" for slot in product.day_slots(day, slots_per_day) if slot not in present]
    return DayOutcome(
        day=day,
        rows=rows,
        files_read=len(good),
        missing_slots=missing,
        bad_files=bad,
        layout_changes=layout_changes,
        ignored_files=list(ignored_files),
    )
