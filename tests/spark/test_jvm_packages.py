"""The local target's pinned JVM packages: the installed jars match the pins; a changed jar is refused."""

from __future__ import annotations

import hashlib

import pytest

from data_platform.spark.jvm_packages import JvmPackage, JvmPackageError, check, fetch, load_packages, verify


def test_installed_jars_match_the_pinned_checksums():
    paths = check()
    assert sorted(p.name for p in paths) == sorted(p.file_name for p in load_packages())
    coordinates = {p.coordinate.rsplit(":", 1)[0] for p in load_packages()}
    assert coordinates == {
        "org.apache.hudi:hudi-spark3.5-bundle_2.12",
        "org.apache.hadoop:hadoop-aws",
        "com.amazonaws:aws-java-sdk-bundle",
        "io.openlineage:openlineage-spark_2.12",
    }


def test_a_jar_that_differs_from_its_pin_is_refused(tmp_path):
    content = b"the pinned bytes"
    pkg = JvmPackage(
        name="demo",
        coordinate="org.example:demo:1.0.0",
        sha1=hashlib.sha1(content).hexdigest(),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    jar = tmp_path / pkg.file_name
    jar.write_bytes(content)
    verify(pkg, jar)
    assert fetch([pkg], tmp_path) == [jar]  # present and intact: no Maven call
    assert (tmp_path / ".installed").read_text() == f"org.example:demo:1.0.0 {pkg.sha256}\n"
    jar.write_bytes(b"other bytes")
    with pytest.raises(JvmPackageError, match=r"org.example:demo:1.0.0: .*demo-1.0.0.jar has sha1 .* pinned"):
        verify(pkg, jar)
