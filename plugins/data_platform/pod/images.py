"""Image files: logical image names -> container image references (``include/pod/images.yaml``).

Tasks name an image (``image="platform-tools"``); the file says which repository, tag and/or
digest that is and the date it was built. Images must be rebuilt at least monthly; the check
below lists the ones that are overdue::

    python -m data_platform.pod.images check [--max-age-days 31] [--as-of 2026-11-23]

Exit code 0: all fresh; 1: some images are stale (listed); 2: the image file is invalid.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from data_platform.config import ConfigError, load_yaml

IMAGES_FILE = "pod/images.yaml"
# The monthly refresh policy: no image may be older than the longest month.
DEFAULT_MAX_AGE_DAYS = 31

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?"
REPOSITORY = re.compile(rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*")
TAG = re.compile(r"[\w][\w.-]{0,127}")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")


class ImageSpec(BaseModel):
    """One entry of the image file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    built: date
    description: str = ""
    dockerfile: str | None = Field(
        None,
        description="Dockerfile (repository path) the image is built from; pod commands are checked against it",
    )
    target: str | None = Field(None, description="build stage of ``dockerfile`` (docker build --target)")

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not REPOSITORY.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an image repository (registry/path without tag, e.g. "
                "111122223333.dkr.ecr.eu-west-1.amazonaws.com/data-platform/platform-tools)"
            )
        return value

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not TAG.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid image tag")
        if value == "latest":
            raise ValueError("tag 'latest' is not allowed: pin a dated tag or a digest")
        return value

    @field_validator("digest")
    @classmethod
    def _digest(cls, value: str | None) -> str | None:
        if value is not None and not DIGEST.fullmatch(value):
            raise ValueError(f"{value!r} is not a digest (sha256:<64 hex characters>)")
        return value

    @model_validator(mode="after")
    def _tag_or_digest(self) -> ImageSpec:
        if not self.tag and not self.digest:
            raise ValueError("give a tag, a digest, or both")
        return self

    @property
    def reference(self) -> str:
        """What goes into the pod spec: ``repo:tag``, ``repo@digest`` or ``repo:tag@digest``."""
        ref = self.repository
        if self.tag:
            ref += f":{self.tag}"
        if self.digest:
            ref += f"@{self.digest}"
        return ref

    def age_days(self, today: date) -> int:
        return (today - self.built).days


@dataclass(frozen=True)
class StaleImage:
    name: str
    built: date
    age_days: int

    def describe(self) -> str:
        if self.age_days < 0:
            return f"{self.name}: built date {self.built} is in the future; fix the date in include/{IMAGES_FILE}"
        return (
            f"{self.name}: built {self.built} ({self.age_days} days ago); rebuild the image and "
            f"update its tag and built date in include/{IMAGES_FILE}"
        )


def parse_images(data: object, *, source: str = f"include/{IMAGES_FILE}") -> dict[str, ImageSpec]:
    """Validate the image file's content (a mapping of logical name -> image entry)."""
    if not isinstance(data, Mapping) or not data:
        raise ConfigError(f"{source} must map logical image names to entries with repository, tag, built.")
    images: dict[str, ImageSpec] = {}
    for name, entry in data.items():
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{source}: image {name!r} must be a mapping (repository, tag/digest, built).")
        try:
            images[str(name)] = ImageSpec.model_validate({**entry, "name": str(name)})
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(entry)'}: {e['msg'].removeprefix('Value error, ')}"
                for e in err.errors()
            )
            raise ConfigError(f"{source}: image {name!r} is invalid: {problems}.") from None
    return images


def load_images() -> dict[str, ImageSpec]:
    """The committed image file, validated."""
    return parse_images(load_yaml(IMAGES_FILE))


def get_image(name: str) -> ImageSpec:
    """The image behind a logical name; unknown names list the known ones."""
    images = load_images()
    if name not in images:
        raise ConfigError(
            f"Unknown image {name!r}: add it to include/{IMAGES_FILE} or use one of: {', '.join(sorted(images))}."
        )
    return images[name]


def find_stale_images(
    images: Mapping[str, ImageSpec], *, today: date, max_age_days: int = DEFAULT_MAX_AGE_DAYS
) -> list[StaleImage]:
    """Images older than ``max_age_days`` on ``today`` (or dated in the future), oldest first."""
    stale = [
        StaleImage(name=spec.name, built=spec.built, age_days=spec.age_days(today))
        for spec in images.values()
        if spec.age_days(today) > max_age_days or spec.age_days(today) < 0
    ]
    return sorted(stale, key=lambda s: (-s.age_days, s.name))


def main(argv: Sequence[str] | None = None, *, today: date | None = None) -> int:
    """CLI entry point; ``today`` defaults to the clock (tests pass a fixed date)."""
    parser = argparse.ArgumentParser(
        prog="python -m data_platform.pod.images", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="list images older than the monthly refresh policy")
    check.add_argument("--max-age-days", type=int, default=DEFAULT_MAX_AGE_DAYS)
    check.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="reference date (default: today)"
    )
    args = parser.parse_args(argv)

    as_of = args.as_of or today or date.today()
    try:
        images = load_images()
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stale = find_stale_images(images, today=as_of, max_age_days=args.max_age_days)
    if not stale:
        print(f"OK: all {len(images)} images were built within {args.max_age_days} days of {as_of}.")
        return 0
    print(
        f"{len(stale)} of {len(images)} images break the refresh policy "
        f"(max {args.max_age_days} days, as of {as_of}):"
    )
    for image in stale:
        print(f"  - {image.describe()}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
