"""Check the local pins (``constraints.txt``) against the MWAA environment's Airflow constraints.

MWAA installs ``requirements.txt`` with the Airflow constraints file its ``--constraint`` line
names (``https://raw.githubusercontent.com/apache/airflow/constraints-<version>/constraints-<python>.txt``).
That file exists only on GitHub: PyPI publishes ``apache-airflow`` as a package whose metadata
lists version *ranges* (its 3.3.1 sdist is a 31 kB meta-package without the constraints), and no
package registry carries the constraints. So this check reads a copy the user downloaded:

    curl -fsSLO https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt
    python -m data_platform.deploy.constraints check --mwaa-constraints constraints-3.12.txt

It reports every package both files pin to different versions (exit 1), or that they agree
(exit 0); a missing or unreadable file exits 2 naming it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from data_platform.paths import REPO_ROOT

LOCAL_CONSTRAINTS = REPO_ROOT / "constraints.txt"


def read_pins(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line of a constraints file
    (comments, options and unpinned lines are ignored); ValueError names a bad line."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as err:
            raise ValueError(f"{path}:{number}: {raw!r} is not a requirement: {err}") from None
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        if len(exact) == 1:
            pins[canonicalize_name(requirement.name)] = exact[0]
    return pins


@dataclass(frozen=True)
class PinDifference:
    name: str
    local: str
    mwaa: str


def compare_pins(local: dict[str, str], mwaa: dict[str, str]) -> list[PinDifference]:
    """The packages both pin, to different versions, sorted by name."""
    return [PinDifference(name, local[name], mwaa[name]) for name in sorted(local.keys() & mwaa.keys())
            if local[name] != mwaa[name]]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m data_platform.deploy.constraints", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="compare constraints.txt with the MWAA constraints file")
    check.add_argument("--mwaa-constraints", type=Path, required=True,
                       help="the Airflow constraints file MWAA uses (downloaded from GitHub)")
    check.add_argument("--local", type=Path, default=LOCAL_CONSTRAINTS, help="default: constraints.txt")
    args = parser.parse_args(argv)
    try:
        local, mwaa = read_pins(args.local), read_pins(args.mwaa_constraints)
    except (OSError, ValueError) as err:
        print(f"cannot read the constraints: {err}", file=sys.stderr)
        return 2
    differences = compare_pins(local, mwaa)
    shared = len(local.keys() & mwaa.keys())
    for diff in differences:
        print(f"{diff.name}: local {diff.local}, MWAA {diff.mwaa}")
    print(f"{shared} packages pinned by both; {len(differences)} differ"
          + ("" if not differences else f" (align {args.local.name} with the MWAA constraints, then `make lock`)"))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
