"""The README quotes the example DAGs (tests/system/example_*.py, run end to end by their tests)
instead of untested snippets: every ``# [START name]`` ... ``# [END name]`` part of an example
appears in the README word for word."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_platform.paths import REPO_ROOT

EXAMPLES = sorted((REPO_ROOT / "tests" / "system").glob("example_*.py"))
_PART = re.compile(
    r"^# \[START (?P<name>\w+)\]\n(?P<code>.*?)^# \[END (?P=name)\]\n", re.DOTALL | re.MULTILINE
)


def quoted_parts(example: Path) -> dict[str, str]:
    return {match["name"]: match["code"] for match in _PART.finditer(example.read_text())}


def test_there_are_examples_with_quoted_parts():
    assert EXAMPLES and all(quoted_parts(example) for example in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_the_readme_quotes_each_part_word_for_word(example):
    readme = (REPO_ROOT / "README.md").read_text()
    for name, code in quoted_parts(example).items():
        assert f"```python\n{code}```" in readme, (
            f"README.md does not quote {example.name} part {name!r} word for word; paste it between "
            "```python and ``` there."
        )
