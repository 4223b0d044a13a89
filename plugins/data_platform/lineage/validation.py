"""OpenLineage events checked against the schema, bad ones kept with the reason.

The schema is ``include/lineage/run-event.schema.json`` (the RunEvent of spec 2-0-x with the
facets the platform reads: ``parent``, ``schema``, ``columnLineage``); the event's ``schemaURL``
must name a spec version this platform reads (:data:`SUPPORTED_SPEC_VERSIONS`), so an event of a
future major version is quarantined instead of being misread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from data_platform.paths import include_file

SCHEMA_FILE = "lineage/run-event.schema.json"
SUPPORTED_SPEC_VERSIONS = ("2-0-0", "2-0-1", "2-0-2")
_SPEC_URL = re.compile(r"^https://openlineage\.io/spec/(\d+-\d+-\d+)/OpenLineage\.json(#.*)?$")


@dataclass(frozen=True)
class Rejected:
    """An event that cannot be used: where it came from, the raw text, and why."""

    source: str
    line: int
    text: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "reason": self.reason, "text": self.text}


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(include_file(SCHEMA_FILE).read_text())
    return Draft202012Validator(schema, format_checker=FormatChecker())


def spec_version(schema_url: str) -> str | None:
    """``2-0-2`` of ``https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent``."""
    match = _SPEC_URL.match(schema_url or "")
    return match.group(1) if match else None


def problems(event: Any) -> list[str]:
    """Every schema violation of ``event`` (``path: message``), plus an unknown spec version;
    empty when the event is valid."""
    if not isinstance(event, dict):
        return [f"an event is a JSON object, got {type(event).__name__}"]
    found = [
        f"{'/'.join(map(str, error.absolute_path)) or '(event)'}: {error.message}"
        for error in sorted(_validator().iter_errors(event), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if "schemaURL" in event:
        version = spec_version(str(event["schemaURL"]))
        if version not in SUPPORTED_SPEC_VERSIONS:
            found.append(
                f"schemaURL: {event['schemaURL']!r} is not an OpenLineage spec version this platform "
                f"reads ({', '.join(SUPPORTED_SPEC_VERSIONS)})"
            )
    return found


def parse_events(text: str, source: str) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """Events of one raw file (one JSON event, or JSON lines): the valid ones, in file order,
    and the rejected ones with their line number, text and reasons (nothing is dropped)."""
    stripped = text.strip()
    if not stripped:
        return [], []
    chunks: list[tuple[int, str]]
    try:
        json.loads(stripped)
        chunks = [(1, stripped)]
    except json.JSONDecodeError:
        chunks = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    valid: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for line, chunk in chunks:
        try:
            event = json.loads(chunk)
        except json.JSONDecodeError as err:
            rejected.append(Rejected(source, line, chunk, f"not JSON: {err}"))
            continue
        found = problems(event)
        if found:
            rejected.append(Rejected(source, line, chunk, "; ".join(found)))
        else:
            valid.append(event)
    return valid, rejected
