"""The points catalogue: the sites whose time series are extracted (include/satellite/points.yaml).

::

    points:
      - {site_id: pv-sevilla, name: Sevilla PV plant, lat: 37.39, lon: -5.98}

``site_id`` is lower-case letters, digits and dashes (it names a lake partition folder), unique;
``lat`` in degrees north (-90..90), ``lon`` in degrees east (-180..180). Unknown keys are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SITE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_KEYS = {"site_id", "name", "lat", "lon"}


class PointsCatalogueError(ValueError):
    """The catalogue is malformed; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class Point:
    """One site: ``lat``/``lon`` in decimal degrees (north, east)."""

    site_id: str
    name: str
    lat: float
    lon: float


def parse_points(document: Any, source: str) -> tuple[Point, ...]:
    """Validated points of a parsed catalogue document; ``source`` names it in errors."""
    if not isinstance(document, dict) or not isinstance(document.get("points"), list):
        raise PointsCatalogueError(f"{source}: expected a mapping with a 'points' list.")
    points: list[Point] = []
    seen: set[str] = set()
    for index, entry in enumerate(document["points"]):
        where = f"{source}: points[{index}]"
        if not isinstance(entry, dict):
            raise PointsCatalogueError(f"{where}: expected a mapping with {sorted(_KEYS)}.")
        unknown, missing = set(entry) - _KEYS, _KEYS - set(entry)
        if unknown or missing:
            raise PointsCatalogueError(
                f"{where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}."
            )
        site_id = str(entry["site_id"])
        if not SITE_ID.match(site_id):
            raise PointsCatalogueError(
                f"{where}: site_id {site_id!r} must be lower-case letters, digits and dashes."
            )
        if site_id in seen:
            raise PointsCatalogueError(f"{where}: site_id {site_id!r} appears twice.")
        seen.add(site_id)
        try:
            lat, lon = float(entry["lat"]), float(entry["lon"])
        except (TypeError, ValueError):
            raise PointsCatalogueError(f"{where} ({site_id}): lat and lon must be numbers.") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise PointsCatalogueError(f"{where} ({site_id}): lat {lat} / lon {lon} out of range.")
        points.append(Point(site_id, str(entry["name"]), lat, lon))
    if not points:
        raise PointsCatalogueError(f"{source}: the catalogue lists no points.")
    return tuple(points)


def load_points(uri: str) -> tuple[Point, ...]:
    """Read and validate the catalogue at ``uri`` (local path, ``file://`` or ``s3://``)."""
    import yaml

    from spark_jobs.common.lake import open_file

    with open_file(uri, "rb") as handle:
        document = yaml.safe_load(handle)
    return parse_points(document, uri)
