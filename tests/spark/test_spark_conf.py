"""Spark conf layering: precedence, list keys, null drops, local exclusions, refused secrets."""

from __future__ import annotations

import subprocess

import pytest

from data_platform.config import ConfigError
from data_platform.paths import REPO_ROOT
from data_platform.settings import Target
from data_platform.spark.conf import ConfLayer, SparkDefaults, build_spark_conf, merge_layers

LIST_KEYS = frozenset({"spark.jars", "spark.extraListeners"})


def defaults(**profiles) -> SparkDefaults:
    return SparkDefaults.model_validate(
        {
            "conf": {
                "spark.a": "platform",
                "spark.b": "platform",
                "spark.c": "platform",
                "spark.d": "platform",
            },
            "aws": {"spark.jars": ["/usr/lib/hudi/bundle.jar"]},
            "local": {"spark.b": "platform-local"},
            "profiles": profiles,
            "list_keys": LIST_KEYS,
            "local_exclude": {"keys": ["spark.emr-serverless.*"], "list_entries": ["/usr/lib/*", "s3://*"]},
            "secret_key_patterns": ["*Secret*", "*password*"],
        }
    )


def test_precedence_platform_environment_profile_artifact_task():
    conf = build_spark_conf(
        target=Target.AWS,
        environment="dev",
        environment_conf={"spark.b": "environment", "spark.c": "environment", "spark.d": "environment"},
        profiles=["p"],
        artifact={"spark.d": "artifact"},
        overrides={"spark.d": "task", "spark.e": 5, "spark.f": True},
        defaults=defaults(p={"conf": {"spark.c": "profile", "spark.d": "profile"}}),
    )
    assert conf.values == {
        "spark.a": "platform",
        "spark.b": "environment",
        "spark.c": "profile",
        "spark.d": "task",
        "spark.e": "5",
        "spark.f": "true",
        "spark.jars": "/usr/lib/hudi/bundle.jar",
    }
    assert conf.origins["spark.c"] == "profile:p" and conf.origins["spark.d"] == "task"
    assert "  spark.b=environment  [environment:dev]" in conf.log_lines()


def test_list_keys_accumulate_without_duplicates_and_null_drops_a_key():
    conf = merge_layers(
        [
            ConfLayer("platform", {"spark.jars": ["a.jar"], "spark.x": "1", "spark.extraListeners": "L1"}),
            ConfLayer("profile:p", {"spark.jars": "b.jar,a.jar"}),
            ConfLayer("task", {"spark.jars": ["c.jar"], "spark.x": None}),
        ],
        LIST_KEYS,
    )
    assert conf.values == {"spark.jars": "a.jar,b.jar,c.jar", "spark.extraListeners": "L1"}
    assert conf.origins["spark.jars"] == "platform+profile:p+task"


def test_target_sections_of_profiles_apply_only_to_their_target():
    hudi = {"conf": {"spark.serializer": "kryo"}, "aws": {"spark.sql.extensions": "hudi"}}
    aws = build_spark_conf(
        target=Target.AWS,
        environment="dev",
        environment_conf={},
        profiles=["hudi"],
        defaults=defaults(hudi=hudi),
    )
    local = build_spark_conf(
        target=Target.LOCAL,
        environment="local",
        environment_conf={},
        profiles=["hudi"],
        defaults=defaults(hudi=hudi),
    )
    assert aws.values["spark.sql.extensions"] == "hudi"
    assert "spark.sql.extensions" not in local.values
    assert local.values["spark.serializer"] == "kryo"
    assert local.values["spark.b"] == "platform-local"


def test_local_target_drops_aws_only_settings_from_any_layer():
    conf = build_spark_conf(
        target=Target.LOCAL,
        environment="local",
        environment_conf={},
        profiles=[],
        overrides={
            "spark.emr-serverless.driver.disk": "40g",
            "spark.jars": "s3://bucket/x.jar,/opt/local.jar",
        },
        defaults=defaults(),
    )
    assert conf.values["spark.jars"] == "/opt/local.jar"
    assert "spark.emr-serverless.driver.disk" not in conf.values
    assert set(conf.dropped) == {"spark.emr-serverless.driver.disk=40g", "spark.jars entry s3://bucket/x.jar"}


def test_unknown_profile_and_credentials_are_refused():
    with pytest.raises(ConfigError, match="Spark profile 'nope' is not defined"):
        build_spark_conf(
            target=Target.AWS, environment="dev", environment_conf={}, profiles=["nope"], defaults=defaults()
        )
    with pytest.raises(
        ConfigError, match=r"'spark.hadoop.fs.s3a.secret.key' \(from task\) looks like a credential"
    ):
        build_spark_conf(
            target=Target.AWS,
            environment="dev",
            environment_conf={},
            profiles=[],
            overrides={"spark.hadoop.fs.s3a.secret.key": "x"},
            defaults=defaults(),
        )
    with pytest.raises(ConfigError, match="use a string or number"):
        build_spark_conf(
            target=Target.AWS,
            environment="dev",
            environment_conf={},
            profiles=[],
            overrides={"spark.x": {"nested": 1}},
            defaults=defaults(),
        )


def test_shipped_defaults_give_the_local_target_the_jvm_side_of_emr(spark_include, local_dir, monkeypatch):
    """The real include/spark files: a Hudi + Glue job locally gets the pinned Maven jars, the same
    Hudi settings as on EMR, S3A for s3:// and the OpenLineage agent; nothing EMR-only."""
    from data_platform.spark.jvm_packages import jvm_dir

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    aws_only = {
        "spark.jars": "/usr/lib/hudi/hudi-spark-bundle.jar",
        "spark.hadoop.hive.metastore.client.factory.class": "com.amazonaws.glue.Factory",
        "spark.emr-serverless.driverEnv.PYTHONPATH": "./deps",
    }
    conf = build_spark_conf(
        target=Target.LOCAL,
        environment="local",
        environment_conf={},
        profiles=["hudi", "glue"],
        overrides=aws_only,
    )
    jars = jvm_dir()
    assert conf.values == {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.adaptive.enabled": "true",
        "spark.log.level": "WARN",
        **{k: "CORRECTED" for k in conf.values if "RebaseModeIn" in k},  # see test_cdc_type_edges
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        "spark.ui.enabled": "false",
        "spark.sql.codegen.wholeStage": "false",
        "spark.jars": ",".join(
            str(jars / name)
            for name in (
                "hadoop-aws-3.3.4.jar",
                "aws-java-sdk-bundle-1.12.262.jar",
                "openlineage-spark_2.12-1.27.0.jar",
                "hudi-spark3.5-bundle_2.12-0.15.0.jar",
            )
        ),
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.AbstractFileSystem.s3.impl": "org.apache.hadoop.fs.s3a.S3A",
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:5000",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.extraListeners": "io.openlineage.spark.agent.OpenLineageSparkListener",
        "spark.driver.extraJavaOptions": (
            "--add-opens=java.base/java.security=ALL-UNNAMED -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
        ),
        "spark.openlineage.transport.type": "file",
        "spark.openlineage.transport.location": f"{local_dir.resolve()}/lake/_lineage/raw/spark/openlineage-spark-events.jsonl",
        "spark.openlineage.namespace": "data-platform-local",
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
        "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
    }
    assert set(conf.dropped) == {
        "spark.jars entry /usr/lib/hudi/hudi-spark-bundle.jar",
        "spark.hadoop.hive.metastore.client.factory.class=com.amazonaws.glue.Factory",
        "spark.emr-serverless.driverEnv.PYTHONPATH=./deps",
        "spark.hadoop.fs.s3a.endpoint.region (environment variable AWS_REGION|AWS_DEFAULT_REGION not set)",
    }


def test_a_missing_jvm_package_names_the_package_and_the_fetch_command(spark_include, tmp_path, monkeypatch):
    from data_platform.spark.jvm_packages import JvmPackageError

    monkeypatch.setenv("PLATFORM_JVM_DIR", str(tmp_path / "empty"))
    with pytest.raises(JvmPackageError) as raised:
        build_spark_conf(target=Target.LOCAL, environment="local", environment_conf={}, profiles=["hudi"])
    message = str(raised.value)
    assert "org.apache.hadoop:hadoop-aws:3.3.4" in message and "is not installed" in message
    assert message.endswith("Fetch the pinned JVM packages with: make jvm")
    # the command named fetches (make install would not: its stamp is newer than the pins)
    dry_run = subprocess.run(["make", "-n", "jvm"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert "-m data_platform.spark.jvm_packages fetch" in dry_run.stdout


def test_invalid_defaults_name_the_field_and_the_fix():
    from data_platform.config import validate_config

    with pytest.raises(ConfigError) as raised:
        validate_config(
            SparkDefaults,
            {"aws": {"spark.x": {"nested": 1}}, "profiles": {"hudi": {"conff": {}}}},
            "include/spark/defaults.yaml",
        )
    message = str(raised.value)
    assert "include/spark/defaults.yaml is invalid" in message
    assert "aws.spark.x: {'nested': 1} is not a Spark conf value: use a string, number or boolean" in message
    assert "profiles.hudi.conff: Extra inputs are not permitted" in message


def test_empty_sections_read_as_empty():
    loaded = SparkDefaults.model_validate({"aws": None, "profiles": {"glue": None}, "list_keys": None})
    assert loaded.values(Target.AWS) == {} and loaded.profiles["glue"].values(Target.LOCAL) == {}
    assert loaded.list_keys == frozenset()
