"""Image files: parsing, the monthly refresh check (fixed dates) and its CLI."""

from __future__ import annotations

import textwrap
from datetime import date

import pytest

from data_platform.config import ConfigError
from data_platform.pod.images import (
    find_stale_images,
    get_image,
    load_images,
    main,
    parse_images,
)

REPO = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/data-platform/tools"
DIGEST = "sha256:" + "ab" * 32


def images_built(**built: date):
    return parse_images(
        {name: {"repository": REPO, "tag": "v1", "built": day} for name, day in built.items()}
    )


def test_the_committed_image_file_parses_and_dates_every_image():
    images = load_images()
    assert {"platform-tools", "spark-job"} <= set(images)
    for spec in images.values():
        assert isinstance(spec.built, date)
        assert spec.reference.startswith(spec.repository + ":")


def test_the_committed_images_pass_the_check_as_of_their_newest_build():
    # Deterministic: judged against the newest build date in the file, not the clock.
    images = load_images()
    newest = max(spec.built for spec in images.values())
    assert find_stale_images(images, today=newest) == []


def test_images_older_than_the_policy_are_listed_oldest_first():
    images = images_built(
        fresh=date(2026, 11, 1), edge=date(2026, 10, 23), old=date(2026, 10, 22), older=date(2026, 9, 1)
    )
    stale = find_stale_images(images, today=date(2026, 11, 23))
    assert [(s.name, s.age_days) for s in stale] == [("older", 83), ("old", 32)]
    assert "rebuild the image" in stale[0].describe()


def test_future_build_dates_are_flagged():
    stale = find_stale_images(images_built(typo=date(2027, 11, 1)), today=date(2026, 11, 23))
    assert [s.name for s in stale] == ["typo"]
    assert "in the future" in stale[0].describe()


def test_max_age_is_configurable():
    images = images_built(a=date(2026, 11, 1))
    assert find_stale_images(images, today=date(2026, 11, 23), max_age_days=30) == []
    assert [s.name for s in find_stale_images(images, today=date(2026, 11, 23), max_age_days=7)] == ["a"]


@pytest.mark.parametrize(
    ("entry", "reference"),
    [
        ({"tag": "2026.11.16"}, f"{REPO}:2026.11.16"),
        ({"digest": DIGEST}, f"{REPO}@{DIGEST}"),
        ({"tag": "2026.11.16", "digest": DIGEST}, f"{REPO}:2026.11.16@{DIGEST}"),
    ],
)
def test_references_use_tag_digest_or_both(entry, reference):
    images = parse_images({"tools": {"repository": REPO, "built": date(2026, 11, 16), **entry}})
    assert images["tools"].reference == reference


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"repository": REPO, "tag": "latest", "built": "2026-11-16"}, "tag 'latest' is not allowed"),
        ({"repository": REPO, "built": "2026-11-16"}, "give a tag, a digest, or both"),
        ({"repository": REPO, "digest": "sha256:xyz", "built": "2026-11-16"}, "is not a digest"),
        ({"repository": f"{REPO}:v1", "tag": "v1", "built": "2026-11-16"}, "is not an image repository"),
        ({"repository": REPO, "tag": "v1"}, "built: Field required"),
        ({"repository": REPO, "tag": "v1", "built": "last week"}, "built: Input should be a valid date"),
    ],
)
def test_invalid_entries_name_image_and_field(entry, message):
    with pytest.raises(ConfigError) as err:
        parse_images({"tools": entry})
    assert "image 'tools' is invalid" in str(err.value)
    assert message in str(err.value)


def test_unknown_images_list_the_known_ones():
    with pytest.raises(ConfigError, match="Unknown image 'platfrom-tools'.*platform-tools, spark-job"):
        get_image("platfrom-tools")


# -- CLI -----------------------------------------------------------------------------------------


def write_images(include, text: str) -> None:
    (include / "pod" / "images.yaml").write_text(textwrap.dedent(text))


def test_cli_passes_fresh_images(include_copy, capsys):
    assert main(["check"], today=date(2026, 12, 1)) == 0
    assert (
        f"OK: all {len(load_images())} images were built within 31 days of 2026-12-01"
        in capsys.readouterr().out
    )


def test_cli_fails_and_lists_stale_images(include_copy, capsys):
    write_images(
        include_copy,
        f"""
        tools: {{repository: {REPO}, tag: v2, built: 2026-11-20}}
        legacy: {{repository: {REPO}, tag: v1, built: 2026-08-01}}
        """,
    )
    assert main(["check"], today=date(2026, 11, 23)) == 1
    out = capsys.readouterr().out
    assert "1 of 2 images break the refresh policy (max 31 days, as of 2026-11-23)" in out
    assert "legacy: built 2026-08-01 (114 days ago)" in out
    assert "tools" not in out.split("policy", 1)[1]


def test_cli_takes_max_age_and_as_of(include_copy, capsys):
    assert main(["check", "--max-age-days", "5", "--as-of", "2026-11-23"]) == 1
    assert "max 5 days, as of 2026-11-23" in capsys.readouterr().out


def test_cli_reports_an_invalid_file_with_exit_code_2(include_copy, capsys):
    write_images(include_copy, f"tools: {{repository: {REPO}, tag: latest, built: 2026-11-20}}\n")
    assert main(["check"], today=date(2026, 11, 23)) == 2
    assert "tag 'latest' is not allowed" in capsys.readouterr().err


def test_cli_runs_as_a_module(include_copy):
    import os
    import subprocess
    import sys

    from data_platform.paths import PLUGINS_DIR

    env = {**os.environ, "PYTHONPATH": str(PLUGINS_DIR)}
    done = subprocess.run(
        [sys.executable, "-m", "data_platform.pod.images", "check", "--as-of", "2027-06-01"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    count = len(load_images())
    assert f"{count} of {count} images break the refresh policy" in done.stdout
