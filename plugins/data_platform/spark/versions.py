"""Semantic versions of Spark job artifacts and the pins DAGs use to choose one (``packaging``).

A deployed version ``X.Y.Z`` is also published under the aliases ``X.Y`` and ``X``, so a DAG can
pin ``"1"`` (latest 1.x.y), ``"1.2"`` (latest 1.2.y) or ``"1.2.3"`` (exactly that build).
"""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion
from packaging.version import Version as PackagingVersion


def _release(text: object, max_parts: int) -> PackagingVersion | None:
    """``text`` as a plain release of at most ``max_parts`` numbers written canonically
    (no ``v``, leading zeros, pre/post/dev/local parts), else None."""
    raw = str(text).strip()
    try:
        parsed = PackagingVersion(raw)
    except InvalidVersion:
        return None
    canonical = ".".join(str(part) for part in parsed.release)
    return parsed if raw == canonical and len(parsed.release) <= max_parts else None


class Version(PackagingVersion):
    """An exact ``major.minor.patch`` version (no pre-release or build suffixes)."""

    @classmethod
    def parse(cls, text: object) -> Version:
        parsed = _release(text, 3)
        if parsed is None or len(parsed.release) != 3:
            raise ValueError(f"{text!r} is not an exact version; write MAJOR.MINOR.PATCH, e.g. '1.4.0'.")
        return cls(str(parsed))

    def aliases(self) -> tuple[str, str]:
        """The alias folders this version is also published under: ``X.Y`` and ``X``."""
        return f"{self.major}.{self.minor}", f"{self.major}"


class VersionPin:
    """What a DAG asks for: ``"1"``, ``"1.2"`` or ``"1.2.3"`` (``==1.*``, ``==1.2.*``, ``==1.2.3``)."""

    def __init__(self, text: str, exact: bool) -> None:
        self.text = text
        self.is_exact = exact
        self.specifier = SpecifierSet(f"=={text}" if exact else f"=={text}.*")

    @classmethod
    def parse(cls, text: object) -> VersionPin:
        parsed = _release(text, 3)
        if parsed is None:
            raise ValueError(
                f"Version pin {text!r} is not valid; pin 'MAJOR', 'MAJOR.MINOR' or "
                "'MAJOR.MINOR.PATCH' (e.g. version='1.2')."
            )
        return cls(str(parsed), len(parsed.release) == 3)

    def matches(self, version: Version) -> bool:
        return version in self.specifier

    def __str__(self) -> str:
        return self.text
