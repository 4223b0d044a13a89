"""Atlassian Document Format (ADF) to plain text, for ``description`` and rich-text fields.

ADF is a tree of nodes (``{"type": "doc", "content": [...]}``; see Atlassian's "Atlassian
Document Format" reference). Rules: block nodes (paragraph, heading, code block, blockquote,
list item, table row, rule) end a line; ``hardBreak`` is a line break; list items start with
``- `` (bullet) or ``1. `` (ordered, numbered from ``attrs.order``); table cells in a row are
joined by `` | ``; ``mention``, ``emoji``, ``status``, ``date`` and ``inlineCard`` nodes become
their text, short name, text, ISO date and URL. Unknown nodes contribute their children's text,
so a new node type never drops content. Lines are right-stripped; blank runs collapse to one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

BLOCKS = frozenset(
    {"paragraph", "heading", "codeBlock", "blockquote", "rule", "mediaSingle", "mediaGroup", "panel",
     "table", "tableRow", "expand", "nestedExpand", "decisionList", "taskList", "bulletList", "orderedList"}
)  # fmt: skip


def adf_to_text(document: Any) -> str | None:
    """Plain text of an ADF document; a plain string passes through; None stays None."""
    if document is None:
        return None
    if isinstance(document, str):
        return document
    lines: list[str] = []
    current: list[str] = []
    _walk(document, lines, current, prefix="")
    if current:
        lines.append("".join(current))
    text = "\n".join(line.rstrip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip("\n")


def _flush(lines: list[str], current: list[str]) -> None:
    if current:
        lines.append("".join(current))
        current.clear()


def _inline(node: dict[str, Any]) -> str | None:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "mention":
        return str(attrs.get("text") or "@" + str(attrs.get("id", "")))
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "status":
        return str(attrs.get("text", ""))
    if kind == "inlineCard":
        return str(attrs.get("url", ""))
    if kind == "date":
        stamp = attrs.get("timestamp")
        if stamp is None:
            return ""
        try:
            return datetime.fromtimestamp(int(stamp) / 1000, tz=UTC).date().isoformat()
        except (TypeError, ValueError):
            return ""
    return None


def _walk(node: Any, lines: list[str], current: list[str], prefix: str) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "hardBreak":
        _flush(lines, current)
        return
    inline = _inline(node)
    if inline is not None:
        if not current and prefix:
            current.append(prefix)
        current.append(inline)
        return
    children = [c for c in node.get("content") or [] if isinstance(c, dict)]
    if kind == "rule":
        _flush(lines, current)
        lines.append("---")
        return
    if kind in ("bulletList", "orderedList"):
        _flush(lines, current)
        start = int((node.get("attrs") or {}).get("order", 1)) if kind == "orderedList" else 0
        for index, item in enumerate(children):
            marker = f"{start + index}. " if kind == "orderedList" else "- "
            _walk_item(item, lines, marker, prefix)
        return
    if kind == "tableRow":
        _flush(lines, current)
        cells = []
        for cell in children:
            cell_lines: list[str] = []
            _walk({"type": "doc", "content": cell.get("content") or []}, cell_lines, [], "")
            cells.append(" ".join(line.strip() for line in cell_lines if line.strip()))
        lines.append(prefix + " | ".join(cells))
        return
    if kind in BLOCKS:
        _flush(lines, current)
    for child in children:
        _walk(child, lines, current, prefix)
    if kind in BLOCKS:
        _flush(lines, current)


def _walk_item(item: dict[str, Any], lines: list[str], marker: str, prefix: str) -> None:
    first = len(lines)
    _walk({"type": "doc", "content": item.get("content") or []}, lines, [], prefix + "  ")
    if len(lines) > first:
        lines[first] = prefix + marker + lines[first].removeprefix(prefix + "  ")
    else:
        lines.append(prefix + marker)
