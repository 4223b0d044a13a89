"""Staged values the target columns cannot hold exactly (checked before anything is written).

The set-based merge casts staged values into the target types; PostgreSQL and Redshift would
silently truncate text to ``VARCHAR(n)`` on an explicit cast, PostgreSQL stores ``NaN`` in a
``NUMERIC`` column, and a number beyond an integer type's range fails with an error that names
neither the file nor the column; both round a value with more fractional digits than a
``DECIMAL(p,s)`` column's scale (or any fraction into an integer column) without a word.
:func:`misfit_predicate` gives, per target column, the SQL predicate of a staged value that does
not fit; the loader fails the load with the file, column and value of the first such value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from data_platform.lake import storage
from data_platform.warehouse.staging import StagingColumn
from data_platform.warehouse.tables import quote

_LENGTH = re.compile(r"^(?:character varying|varchar|character|char|bpchar)\((\d+)\)$")
_NUMERIC = re.compile(r"^(?:numeric|decimal)\((\d+),(\d+)\)$")
_INTEGER_LIMITS = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
_NUMBER_TYPES = ("SMALLINT", "INTEGER", "BIGINT", "REAL", "DOUBLE PRECISION", "DECIMAL")


def _staged_scale(staged: str) -> int | None:
    """Fractional digits a staged number type can carry (``None``: any, for REAL / DOUBLE)."""
    numeric = _NUMERIC.match(staged.lower().replace(" ", ""))
    if numeric:
        return int(numeric.group(2))
    return None if staged in ("REAL", "DOUBLE PRECISION") else 0


def misfit_predicate(column: str, staged_type: str, target_type: str, dialect: str) -> str | None:
    """SQL predicate (on the stage, alias ``s``) of a value that ``target_type`` cannot hold exactly:
    text longer than ``VARCHAR(n)`` (bytes on Redshift), NaN or infinity into a non-float column,
    a number beyond ``DECIMAL(p,s)``'s or an integer type's range, more fractional digits than
    ``DECIMAL(p,s)``'s scale ``s`` (``1.235`` into ``DECIMAL(12,2)``), a fraction into an integer.

    The checks are a ``CASE`` so each runs only on values that passed the ones before (the scale
    check casts to ``DECIMAL(38,s)``, which NaN, infinity or an overflowing value would fail)."""
    value = f"s.{quote(column, dialect)}"
    target = target_type.lower()
    staged = staged_type.upper()
    staged_number = staged.startswith(_NUMBER_TYPES)
    length = _LENGTH.match(target)
    if length and not staged_number:
        measure = "OCTET_LENGTH" if dialect == "redshift" else "CHAR_LENGTH"
        return f"{measure}({value}) > {int(length.group(1))}"
    if not staged_number or target in ("real", "double precision"):
        return None
    clauses = []
    if staged in ("REAL", "DOUBLE PRECISION"):
        clauses.append(
            f"LOWER(CAST({value} AS VARCHAR(32))) IN ('nan', 'infinity', '-infinity', 'inf', '-inf')"
        )
    staged_scale = _staged_scale(staged)
    numeric = _NUMERIC.match(target)
    scale: int | None = None
    if numeric:
        digits = int(numeric.group(1)) - int(numeric.group(2))
        clauses.append(f"ABS({value}) >= CAST(1{'0' * digits} AS DECIMAL(38,0))")
        scale = int(numeric.group(2))
    elif target in _INTEGER_LIMITS:
        limit = _INTEGER_LIMITS[target]
        clauses.append(f"{value} < {-limit} OR {value} > {limit - 1}")
        scale = 0
    if scale is not None and (staged_scale is None or staged_scale > scale):
        clauses.append(f"CAST({value} AS DECIMAL(38,{scale})) <> {value}")
    if len(clauses) < 2:
        return clauses[0] if clauses else None
    return "CASE " + " ".join(f"WHEN {clause} THEN TRUE" for clause in clauses) + " ELSE FALSE END"


def locate(files: Iterable[str], column: StagingColumn, value: Any) -> list[str]:
    """The files whose ``column`` holds ``value`` (compared as lower-case text, ``inf`` for
    ``Infinity``), for the error message."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found = []
    for uri in files:
        with storage.open_file(uri) as handle:
            data = pq.read_table(handle, columns=[column.source_name]).column(0)
        text = pc.replace_substring(pc.utf8_lower(pc.cast(data, "string")), "infinity", "inf")
        if pc.any(pc.equal(text, str(value).lower().replace("infinity", "inf"))).as_py():
            found.append(uri)
    return found
