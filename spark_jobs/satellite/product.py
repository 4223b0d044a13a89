"""Facts of the LSA SAF MDSSFTD product (netCDF edition) the extraction relies on.

Source: /work/shared/reference/FIELD-NOTES.md "Satellite product" and the product files: one file
per 15-minute slot, ``<root>/YYYY/MM/DD/NETCDF4_LSASAF_MSG_MDSSFTD_MSG-Disk_YYYYMMDDHHMM.nc``,
dims ``(time=1, lat, lon)`` with ``lat`` stored north to south, int16 variables with CF
``scale_factor`` / ``add_offset`` / ``_FillValue``, global attribute ``time_coverage_start``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

FILE_PREFIX = "NETCDF4_LSASAF_MSG_MDSSFTD_MSG-Disk_"
FILE_GLOB = FILE_PREFIX + "*.nc"
FILE_NAME = re.compile(re.escape(FILE_PREFIX) + r"(?P<stamp>\d{12})\.nc$")
SLOT_MINUTES = 15
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES  # 96

LAT, LON = "lat", "lon"
DSSF_TOT = "DSSF_TOT"  # total downward surface shortwave flux, W/m2
FRACTION_DIFFUSE = "FRACTION_DIFFUSE"  # diffuse fraction of DSSF_TOT, 0-1
QUALITY_FLAG = "quality_flag"
VARIABLES = (DSSF_TOT, FRACTION_DIFFUSE, QUALITY_FLAG)
SCALED_VARIABLES = (DSSF_TOT, FRACTION_DIFFUSE)  # quality_flag is a bit field: never scaled
TIME_ATTRIBUTE = "time_coverage_start"


def file_name(slot: datetime) -> str:
    """``NETCDF4_LSASAF_MSG_MDSSFTD_MSG-Disk_201801010015.nc`` for the 00:15 UTC slot."""
    return f"{FILE_PREFIX}{slot:%Y%m%d%H%M}.nc"


def day_folder(day: date) -> str:
    """``2018/01/01``: the day folder below the product root."""
    return f"{day:%Y/%m/%d}"


def slot_of_name(name: str) -> datetime | None:
    """The UTC slot a file name stands for, or ``None`` when the name is not a product file."""
    match = FILE_NAME.search(name.rsplit("/", 1)[-1])
    if not match:
        return None
    return datetime.strptime(match["stamp"], "%Y%m%d%H%M").replace(tzinfo=UTC)


def day_slots(day: date, slots_per_day: int = SLOTS_PER_DAY) -> list[datetime]:
    """The UTC start times of a day's slots (96 quarter hours by default)."""
    step = timedelta(minutes=24 * 60 // slots_per_day)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [start + i * step for i in range(slots_per_day)]


def parse_coverage_start(value: object) -> datetime:
    """``time_coverage_start`` (ISO 8601, e.g. ``2018-01-01T00:15:00Z``) as an aware UTC datetime.

    Raises ValueError for anything else.
    """
    if isinstance(value, bytes):
        value = value.decode()
    if hasattr(value, "item"):  # numpy scalar or 1-element array of bytes/str
        value = value.item() if getattr(value, "size", 1) == 1 else value
        if isinstance(value, bytes):
            value = value.decode()
    text = str(value).strip()
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
