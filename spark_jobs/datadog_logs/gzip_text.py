"""Decompress a log file that may still be being written (a truncated gzip stream).

EMR Serverless uploads ``stdout.gz`` / ``stderr.gz`` while the worker runs and replaces them with
longer versions; a reader may see a gzip stream that is cut mid-member. :func:`decompress_available`
returns what can be decompressed and whether the stream ended cleanly, so the caller can wait
for the rest instead of shipping a half record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from isal import isal_zlib

_GZIP = 16 + isal_zlib.MAX_WBITS
_MAGIC = b"\x1f\x8b"
_IsalError = cast(type[Exception], isal_zlib.IsalError)  # its stubs declare an instance


class CorruptLogFile(ValueError):
    """The bytes are not a gzip stream (or are damaged), not merely cut short."""


@dataclass(frozen=True)
class Decompressed:
    data: bytes
    """Every byte that could be decompressed (for a cut stream: a prefix of the file's text)."""
    complete: bool
    """True when every gzip member ended with its trailer (and the object is not empty)."""


def decompress_available(raw: bytes, name: str = "log file") -> Decompressed:
    """Decompress all gzip members of ``raw`` (concatenated members are one stream, as ``gzip -d``),
    with ISA-L (``isal``: the zlib API, twice zlib's speed).

    :raises CorruptLogFile: naming ``name`` when the bytes are not gzip or fail the CRC check.
    """
    if not raw:
        return Decompressed(b"", False)
    parts: list[bytes] = []
    remaining = raw
    while remaining:
        inflater = isal_zlib.decompressobj(_GZIP)
        try:
            if not _MAGIC.startswith(remaining[:2]):  # ISA-L waits for a whole header before it checks
                raise _IsalError("not a gzip member: no 1f 8b magic bytes")
            parts.append(inflater.decompress(remaining))
        except _IsalError as err:
            raise CorruptLogFile(
                f"{name} is not a readable gzip stream ({err}); move it aside or re-upload it, "
                "its checkpoint is left as it is."
            ) from err
        if not inflater.eof:
            parts.append(inflater.flush())
            return Decompressed(b"".join(parts), False)
        remaining = inflater.unused_data.lstrip(b"\x00")  # padding some writers leave after a member
    return Decompressed(b"".join(parts), True)
