"""Semantic versions of Spark job artifacts and the pins DAGs use to choose one.

A deployed version ``X.Y.Z`` is also published under the aliases ``X.Y`` and ``X``, so a DAG can
pin ``"1"`` (latest 1.x.y), ``"1.2"`` (latest 1.2.y) or ``"1.2.3"`` (exactly that build).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_EXACT = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_PIN = re.compile(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?$")


@dataclass(frozen=True, order=True)
class Version:
    """An exact ``major.minor.patch`` version (no pre-release or build suffixes)."""

    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: object) -> Version:
        match = _EXACT.match(str(text).strip())
        if not match:
            raise ValueError(f"{text!r} is not an exact version; write MAJOR.MINOR.PATCH, e.g. '1.4.0'.")
        return cls(*(int(part) for part in match.groups()))

    def aliases(self) -> tuple[str, str]:
        """The alias folders this version is also published under: ``X.Y`` and ``X``."""
        return f"{self.major}.{self.minor}", f"{self.major}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class VersionPin:
    """What a DAG asks for: ``"1"``, ``"1.2"`` or ``"1.2.3"``."""

    parts: tuple[int, ...]

    @classmethod
    def parse(cls, text: object) -> VersionPin:
        raw = str(text).strip()
        match = _PIN.match(raw)
        if not match:
            raise ValueError(
                f"Version pin {text!r} is not valid; pin 'MAJOR', 'MAJOR.MINOR' or "
                "'MAJOR.MINOR.PATCH' (e.g. version='1.2')."
            )
        return cls(tuple(int(part) for part in match.groups() if part is not None))

    @property
    def is_exact(self) -> bool:
        return len(self.parts) == 3

    def matches(self, version: Version) -> bool:
        return (version.major, version.minor, version.patch)[: len(self.parts)] == self.parts

    def __str__(self) -> str:
        return ".".join(str(part) for part in self.parts)
