"""A log file's new records -> Datadog entries in request-sized batches, column-wise (Apache Arrow).

The shipper's hot path. The rules are the parser's (:mod:`~spark_jobs.datadog_logs.parser`, the
reference, one record at a time, which the tests compare this module with); here they apply to
all the lines of a piece of a file at once, with Arrow's compute functions (RE2 regular
expressions, string joins: passes in C over the text, not a Python step per line):

1. The text is cut into lines at its newlines (found once, by numpy, which also bounds the
   piece). A byte that is not UTF-8 is read as ``?`` (one byte for one) to cut the lines; the
   lines holding one are then decoded as U+FFFD, as the parser cleans them.
2. A line starts a record unless it is a continuation line (:data:`~spark_jobs.datadog_logs.parser.CONTINUATION_LINE`,
   one regular expression over the lines that may be one: a line's first byte, read off the text
   with numpy, rules out log4j and JSON lines). JSON lines of the jobs and Python tracebacks, whose
   records take other continuation lines, are walked in Python: they are few.
3. A record's message is its lines joined with ``\\n``; log4j and plain records get their entry
   by concatenating columns: the file's constant attributes, the line number, what the log4j
   head gives (status, timestamp, logger; worked out once per distinct head by
   :class:`~spark_jobs.datadog_logs.entries.EntryBuilder`) and the message as a JSON string
   (escaped column-wise in the records that need it, found by numpy on the text's bytes;
   characters beyond ASCII stay UTF-8).
4. The other records (JSON lines, tracebacks, and records whose entry may be over
   :data:`~spark_jobs.datadog_logs.entries.MAX_ENTRY_BYTES` as the builder measures it, in ASCII
   JSON) take the entry builder's record-by-record path.
5. Entries are cut into batches of at most :data:`~spark_jobs.datadog_logs.entries.MAX_ENTRIES_PER_REQUEST`
   entries and :data:`~spark_jobs.datadog_logs.entries.MAX_REQUEST_BYTES` bytes, each with the
   checkpoint that holds once the intake accepted it.

A file is taken in pieces of about :data:`PIECE_BYTES` (cut at a line end), and of at most as many
lines as :data:`PIECE_ENTRY_BYTES` allows, so memory stays bounded: a piece's last record waits for
the next piece (more continuation lines may follow).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spark_jobs.datadog_logs.entries import (
    ASCII_JSON_GROWTH,
    MAX_ENTRIES_PER_REQUEST,
    MAX_ENTRY_BYTES,
    MAX_REQUEST_BYTES,
    TEXT_STATUS,
    EntryBuilder,
)
from spark_jobs.datadog_logs.parser import (
    CONTINUATION_LINE,
    LOG4J_HEAD,
    PYTHON_EXCEPTION_LINE,
    TRACEBACK,
    json_object,
    parse_records,
    traceback_lines,
)

PIECE_BYTES = 16 << 20
"""Decompressed bytes parsed at once (the last record of a piece waits for the next one)."""
PIECE_ENTRY_BYTES = 256 << 20
"""What a piece's entries may take beyond its text: each line can make an entry that repeats the
file's attributes (a few hundred bytes), so a piece of short lines (``print(i)`` in a loop: 64 MB
of them, 20 GB of entries) is cut to fewer lines; an Arrow string array holds at most 2 GiB."""
_HEAD = "^" + re.sub(r"\(\?P<(?!head>)\w+>", "(?:", LOG4J_HEAD)
"""The log4j head with its one group ``head``."""
_CONTINUATION = f"^{CONTINUATION_LINE}$"
NEVER_CONTINUATION = b"0123456789{"
"""First bytes of lines that :data:`~spark_jobs.datadog_logs.parser.CONTINUATION_LINE` never matches
(log4j heads start with a digit, JSON lines with ``{``): such lines are not matched against it."""
_MAY_CONTINUE = np.isin(np.arange(256), np.frombuffer(NEVER_CONTINUATION, np.uint8), invert=True)
_PYTHON_EXCEPTION = f"^{PYTHON_EXCEPTION_LINE}$"
_ODD_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_BEYOND_ASCII = r"[\x7f-\x{10FFFF}]"
"""A character that ASCII JSON escapes as ``\\uXXXX`` (and JSON does not have to)."""
_JSON_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_CONTROL_ESCAPES = tuple(
    (c, encode_basestring_ascii(c)[1:-1]) for c in map(chr, range(32)) if c not in "\t\n\r"
)
"""The other control characters as ``json`` escapes them (``\\b``, ``\\f``, ``\\u001b``...)."""


@dataclass(frozen=True)
class Batch:
    """One request's entries and how far the file is shipped once the intake accepted them."""

    entries: pa.StringArray
    """Each entry's JSON object (UTF-8; ``len`` of the request body = sum of the entries' bytes + commas + 2)."""
    offset: int
    """Byte offset in the decompressed file after the last record whose entries are all in this
    batch or an earlier one."""
    records: int
    """Records (of the piece) before ``offset``."""
    lines: int
    """Lines (of the piece) before ``offset``."""


def _single_string(data: bytes) -> pa.LargeStringArray:
    """``data`` as a one-element Arrow string array, without copying it (nor checking it is UTF-8)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])


def _lines(data: bytes, line_ends: np.ndarray) -> pa.StringArray:
    """The lines of ``data`` (which ends with a newline; ``line_ends``: the byte offset after each
    line's newline).

    Bytes that are not UTF-8 read as U+FFFD, as ``decode("utf-8", "replace")`` reads them: the
    lines holding some (only lines with bytes over 0x7f can) are decoded one by one.
    """
    text = _single_string(data)
    fixed: dict[int, str] = {}
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        raw = np.frombuffer(data, np.uint8)
        clean = bytearray(data)  # each undecodable byte as "?" (one byte for one) to cut the lines
        for line in np.unique(np.searchsorted(line_ends, np.flatnonzero(raw >= 0x80), "right")).tolist():
            begin, end = (int(line_ends[line - 1]) if line else 0), int(line_ends[line]) - 1
            try:
                data[begin:end].decode("utf-8")
            except UnicodeDecodeError:
                fixed[line] = data[begin:end].decode("utf-8", "replace")
                clean[begin:end] = (
                    data[begin:end].decode("utf-8", "surrogateescape").encode("utf-8", "replace")
                )
        text = _single_string(bytes(clean))
    lines = pc.list_flatten(pc.split_pattern(text, "\n")).cast(pa.string())
    lines = lines.slice(0, len(lines) - 1)  # the text ends with a newline: an empty last piece
    if fixed:
        mask = np.zeros(len(lines), dtype=bool)
        mask[list(fixed)] = True
        lines = pc.replace_with_mask(lines, pa.array(mask), pa.array([fixed[i] for i in sorted(fixed)]))
    return lines


class _Piece:
    """Complete lines of a file from byte ``position``: their records (the last one held back
    unless ``final``); ``line_ends``: the byte offset in ``data`` after each line's newline."""

    def __init__(self, data: bytes, position: int, final: bool, line_ends: np.ndarray) -> None:
        self.data = data
        self.position = position
        self.line_ends = line_ends
        self.lines = _lines(data, line_ends)
        raw = np.frombuffer(data, np.uint8)
        line_starts = np.concatenate([[0], line_ends[:-1]]).astype(np.int64)
        self.first_bytes = raw[line_starts]
        """Each line's first byte (``\\n`` for an empty line)."""
        self.escape_lines = _lines_to_escape(raw, line_starts)
        """Indices of the lines holding a character that JSON strings escape."""
        self.json: dict[int, dict[str, Any]] = {}
        """JSON records: their first line -> the line's object."""
        self.tracebacks: set[int] = set()
        starts = self._record_starts()
        self.used_lines = len(self.lines)
        """Lines of the records taken (a held-back record's lines are not)."""
        if not final and len(starts):
            self.used_lines = int(starts[-1])
            starts = starts[:-1]
        self.starts = starts
        """Each record's first line (indices into ``lines``)."""
        self.bounds = np.append(starts, self.used_lines)
        """:attr:`starts` and, last, :attr:`used_lines`: record ``r`` is lines ``bounds[r]`` to ``bounds[r + 1]``."""

    def line_start(self, index: int) -> int:
        """Byte offset in the piece of line ``index`` (``len(lines)``: the piece's end)."""
        return int(self.line_ends[index - 1]) if index else 0

    def line_text(self, index: int) -> str:
        return self.data[self.line_start(index) : self.line_start(index + 1) - 1].decode("utf-8", "replace")

    def records_to_escape(self) -> np.ndarray:
        """For each record (of :attr:`starts`): whether its message holds a character that JSON
        strings escape (a newline joining its lines, or one in a line)."""
        escape = np.diff(self.bounds) > 1
        lines = self.escape_lines[self.escape_lines < self.used_lines]
        escape[np.searchsorted(self.starts, lines, "right") - 1] = True
        return escape

    def _record_starts(self) -> np.ndarray:
        """Indices of the lines that start a record (the parser's rules, see the module)."""
        lines, first = self.lines, self.first_bytes
        count = len(lines)
        if not count:
            return np.empty(0, dtype=np.int64)
        joins = _matching(lines, _CONTINUATION, np.flatnonzero(_MAY_CONTINUE[first]))
        # a Python exception line right after an indented continuation line joins too
        after_indented = np.zeros(count, dtype=bool)
        after_indented[1:] = ((first == ord(" ")) | (first == ord("\t")))[:-1]
        python_exception = _matching(lines, _PYTHON_EXCEPTION, np.flatnonzero(after_indented & ~joins))
        start = np.logical_not(joins | python_exception)
        start[0] = True
        forced = [0]  # record starts whatever the line is (their next line sees no continuation before it)
        candidates = np.flatnonzero((first == ord("{")) | (first == ord(TRACEBACK[0])))
        taken = 0  # lines before it belong to an earlier JSON or traceback record
        texts = lines.take(pa.array(candidates, pa.int64())).to_pylist()
        for index, text in zip(candidates.tolist(), texts, strict=True):
            if index < taken:
                continue
            if text in (TRACEBACK, TRACEBACK + "\r"):
                self.tracebacks.add(index)
                end = index + 1 + traceback_lines(self.line_text(i) for i in range(index + 1, count))
                start[index + 1 : end] = False
            else:
                obj = json_object(text) if text[:1] == "{" else None
                if obj is None:
                    continue  # a plain record
                self.json[index] = obj
                end = index + 1  # no line joins a JSON line
            if end < count:
                start[end] = True
                forced.append(end)
            taken = end
        for line in forced:  # the first line of a record is no continuation line for the next
            if line + 1 < count and python_exception[line + 1]:
                start[line + 1] = True
        return np.flatnonzero(start)


def _matches(strings: pa.StringArray, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(strings, pattern).to_numpy(zero_copy_only=False)


def _matching(strings: pa.StringArray, pattern: str, rows: np.ndarray) -> np.ndarray:
    """Whether each of ``strings`` matches ``pattern``, tried on ``rows`` only (False elsewhere)."""
    matched = np.zeros(len(strings), dtype=bool)
    if len(rows):
        matched[rows] = _matches(strings.take(pa.array(rows, pa.int64())), pattern)
    return matched


def _lines_to_escape(raw: np.ndarray, line_starts: np.ndarray) -> np.ndarray:
    """Indices of the lines (starting at ``line_starts`` in the bytes ``raw``) that hold a byte JSON
    strings escape: a control character other than their newline, ``"`` or ``\\``."""
    if not len(line_starts):
        return np.empty(0, dtype=np.int64)
    escaped = ((raw < 0x20) & (raw != 0x0A)) | (raw == 0x22) | (raw == 0x5C)
    return np.flatnonzero(np.logical_or.reduceat(escaped, line_starts))


def _escaped(messages: pa.StringArray, escape: np.ndarray, blank: np.ndarray) -> pa.StringArray:
    """``messages`` as JSON string contents (no quotes; empty where ``blank``; ``escape``: the
    messages that hold a character to escape), escaped as the entry builder's ASCII JSON escapes
    them (same lengths: the entry limit is measured alike). Characters beyond ASCII stay as they
    are (UTF-8, as JSON allows)."""
    needs = np.flatnonzero(escape & ~blank)
    if not len(needs) and not blank.any():
        return messages
    subset = messages.take(pa.array(needs, pa.int64()))
    for character, replacement in _JSON_ESCAPES:
        subset = pc.replace_substring(subset, character, replacement)
    odd = _matches(subset, _ODD_CONTROL)
    if odd.any():  # ANSI colours and the like: escaped in the few rows that hold some
        controlled = subset.filter(pa.array(odd))
        for character, replacement in _CONTROL_ESCAPES:
            controlled = pc.replace_substring(controlled, character, replacement)
        subset = pc.replace_with_mask(subset, pa.array(odd), controlled)
    # one pass over the messages: escaped rows from the subset, blank rows ""
    changed = np.zeros(len(messages), dtype=bool)
    changed[needs] = True
    changed |= blank
    rows = np.flatnonzero(changed)
    from_subset = np.searchsorted(needs, rows)
    pick = np.where(blank[rows], len(needs), from_subset)
    values = pa.concat_arrays([subset, pa.array([""], pa.string())]).take(pa.array(pick))
    return pc.replace_with_mask(messages, pa.array(changed), values)


def _entries(piece: _Piece, builder: EntryBuilder, first_line: int) -> tuple[pa.StringArray, np.ndarray]:
    """The piece's entries, and for each the index of its record.

    An entry is ``prefix + line number + before + escaped message + after``: for log4j and plain
    records ``before`` and ``after`` hold the status, time and logger around the message; for the
    builder's records ``before`` is the rest of the builder's entry (which starts with the same
    prefix and number) and the message and ``after`` are empty.
    """
    starts, lines, bounds = piece.starts, piece.lines, piece.bounds
    count = len(starts)
    if count == len(lines):
        messages = lines
    else:
        messages = pc.binary_join(pa.ListArray.from_arrays(pa.array(bounds, pa.int32()), lines), "\n")
    # records whose entries the builder makes: JSON lines, tracebacks, ...
    by_builder = np.zeros(count, dtype=bool)
    by_builder[np.isin(starts, [*piece.json, *piece.tracebacks])] = True
    heads = pc.struct_field(pc.extract_regex(lines, _HEAD), "head").dictionary_encode()
    head_of_record = heads.indices.take(pa.array(starts))
    befores, afters, late = builder.log4j_parts(heads.dictionary.to_pylist())
    before = pc.fill_null(
        pa.array([b + '"' for b in befores], pa.string()).take(head_of_record), TEXT_STATUS + '"'
    )
    after = pc.fill_null(pa.array(['"' + a for a in afters], pa.string()).take(head_of_record), '"}')
    numbers = pc.cast(pa.array(starts + first_line), pa.string())
    escape = piece.records_to_escape()
    escaped = _escaped(messages, escape, by_builder)
    sizes = len(builder.prefix) + sum(
        pc.binary_length(c).to_numpy() for c in (numbers, before, escaped, after)
    )
    # the builder measures an entry as ASCII JSON, the columns as UTF-8: a record that may be over
    # MAX_ENTRY_BYTES so measured is left to the builder
    maybe = np.flatnonzero(
        np.logical_and(sizes * ASCII_JSON_GROWTH > MAX_ENTRY_BYTES, np.logical_not(by_builder))
    )
    oversize = sizes > MAX_ENTRY_BYTES
    oversize |= _matching(messages, _BEYOND_ASCII, maybe)
    oversize &= np.logical_not(by_builder)
    if oversize.any():
        by_builder |= oversize
        escaped = _escaped(messages, escape, by_builder)
    # late records: those built here (the builder's record path counts its own)
    heads_built_here = pc.drop_null(head_of_record.filter(pa.array(np.logical_not(by_builder))))
    builder.late += int(np.array(late, dtype=bool)[heads_built_here.to_numpy()].sum())
    records = np.flatnonzero(by_builder)
    firsts = bounds[records].tolist()
    ends = bounds[records + 1].tolist()
    built = [
        _built_one_at_a_time(piece, builder, f, e, first_line) for f, e in zip(firsts, ends, strict=True)
    ]
    if all(isinstance(rest, str) for rest in built):
        mask = pa.array(by_builder)
        before = pc.replace_with_mask(before, mask, pa.array(built, pa.string()))
        after = pc.replace_with_mask(after, mask, pa.array([""] * len(records), pa.string()))
        entries = pc.binary_join_element_wise(builder.prefix, numbers, before, escaped, after, "")
        return entries, np.arange(count)
    # a record split in parts: its entries take the place of its one
    entries = pc.binary_join_element_wise(builder.prefix, numbers, before, escaped, after, "")
    of_builder = [
        [f"{builder.prefix}{first_line + first}{made}"] if isinstance(made, str) else made
        for first, made in zip(firsts, built, strict=True)
    ]
    per_record = np.ones(count, dtype=np.int64)
    per_record[records] = [len(entries_of_record) for entries_of_record in of_builder]
    record_of = np.repeat(np.arange(count), per_record)
    kept = entries.filter(pa.array(np.logical_not(by_builder)))
    from_builder = by_builder[record_of]
    order = np.empty(len(record_of), dtype=np.int64)
    order[~from_builder] = np.arange(len(kept))
    order[from_builder] = len(kept) + np.arange(int(from_builder.sum()))
    everything = pa.concat_arrays([kept, pa.array([e for es in of_builder for e in es], pa.string())])
    return everything.take(pa.array(order)), record_of


def _built_one_at_a_time(
    piece: _Piece, builder: EntryBuilder, first: int, end: int, first_line: int
) -> str | list[str]:
    """The record of lines ``first`` to ``end`` by the entry builder's record path: its entry's JSON
    after the line number, or its entries when it is split in parts."""
    line = first_line + first
    if first in piece.json:
        return builder.json_line_rest(piece.json[first], line)
    (record,) = parse_records(piece.data[piece.line_start(first) : piece.line_start(end)], 0, line).records
    entries = builder.serialized(builder.entry(record))
    return entries[0][len(builder.prefix) + len(str(line)) :] if len(entries) == 1 else entries


def _piece_batches(piece: _Piece, builder: EntryBuilder, first_line: int, size: int) -> Iterator[Batch]:
    """The batches of a piece; offsets are the file's (at most ``size``: a last line without its
    newline got one), records and lines the piece's."""
    entries, record_of = _entries(piece, builder, first_line)
    cumulative = np.cumsum(pc.binary_length(entries).to_numpy().astype(np.int64) + 1)
    room = MAX_REQUEST_BYTES - 2  # "[" and "]"; each entry adds its bytes and a comma
    first = 0
    while first < len(entries):
        before = int(cumulative[first - 1]) if first else 0
        end = min(first + MAX_ENTRIES_PER_REQUEST, int(np.searchsorted(cumulative, before + room, "right")))
        end = max(end, first + 1)
        if end < len(entries):
            record = int(record_of[end])  # its entries are not all in this batch: not yet shipped
            line = int(piece.starts[record])
        else:
            record, line = len(piece.starts), piece.used_lines
        offset = min(size, piece.position + piece.line_start(line))
        yield Batch(entries.slice(first, end - first), offset, record, line)
        first = end


def batches(data: bytes, start: int, first_line: int, final: bool, builder: EntryBuilder) -> Iterator[Batch]:
    """The batches of ``data[start:]`` (decompressed file bytes; ``start`` at a record boundary,
    its first line numbered ``first_line``); ``records`` and ``lines`` count from ``start``.

    With ``final=False`` (the file may still grow) the last record is held back, and so is a
    last line without its newline; with ``final=True`` such a line is a record.
    """
    size = len(data)
    if not final:
        size = data.rfind(b"\n", start) + 1
    position, records, lines = start, 0, 0
    piece_bytes = PIECE_BYTES
    piece_lines = max(1, PIECE_ENTRY_BYTES // (len(builder.prefix) + 100))
    while position < size:
        end = min(size, position + piece_bytes)
        if end < size:
            end = data.rfind(b"\n", position, end) + 1 or data.find(b"\n", end) + 1 or size
        newlines = np.flatnonzero(np.frombuffer(data, np.uint8, end - position, position) == 0x0A)
        if len(newlines) > piece_lines:
            newlines = newlines[:piece_lines]
            end = position + int(newlines[-1]) + 1
        chunk = data[position:end]
        if not chunk.endswith(b"\n"):
            chunk += b"\n"  # a final file's last line without its newline
            newlines = np.append(newlines, len(chunk) - 1)
        piece = _Piece(chunk, position, final and end == size, newlines + 1)
        if not len(piece.starts):  # one record longer than the piece
            if end == size:
                return
            piece_bytes *= 2
            piece_lines *= 2
            continue
        for batch in _piece_batches(piece, builder, first_line + lines, len(data)):
            yield Batch(batch.entries, batch.offset, records + batch.records, lines + batch.lines)
        records += len(piece.starts)
        lines += piece.used_lines
        position = piece.position + piece.line_start(piece.used_lines)
        if position >= size or end == size and not final:
            return
