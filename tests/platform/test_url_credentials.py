"""Credentials inside URLs are found by parsing every URL (urllib.parse), whatever its form;
the findings never repeat the secret (issue 11, item 10: secrets never in conf, env or logs)."""

from __future__ import annotations

import pytest

from data_platform.url_credentials import url_credentials

SECRET = "hunter2"


@pytest.mark.parametrize(
    ("value", "finding"),
    [
        ("https://app:hunter2@example.com/x", "https:// URL (host example.com) with user info: a password"),
        ("redis://:hunter2@cache:6379/0", "redis:// URL (host cache) with user info: a password"),
        ("https://ghp_hunter2@github.com/org/repo.git", "with user info: a user name"),
        ("postgresql://app:p@ss:hunter2@db/shop", "host db) with user info: a password"),
        ("postgresql://app:hunter2/x@db:5432/shop", "cannot be parsed"),  # '/' unencoded
        ("mysql://app:hunter2%40x@[::1]:3306/shop", "mysql:// URL (host ::1) with user info"),
        ("HTTPS://APP:hunter2@EXAMPLE.COM", "https:// URL (host example.com) with user info"),
        ("mongodb+srv://app:hunter2@h1.example.com,h2.example.com/shop", "mongodb+srv:// URL"),
        ("jdbc:mysql://app:hunter2@db:3306/shop", "mysql:// URL (host db) with user info"),
        ("jdbc:mysql:loadbalance://app:hunter2@db1,db2/shop", "loadbalance:// URL"),
        ("jdbc:postgresql://db:5432/shop?user=app&password=hunter2", "secret parameter(s) ['password']"),
        ("jdbc:postgresql://db/shop?user=app&PASSWORD=hunter2", "secret parameter(s) ['PASSWORD']"),
        ("jdbc:postgresql://db/shop?sslmode=verify-full&sslpassword=hunter2", "['sslpassword']"),
        ("jdbc:sqlserver://db:1433;databaseName=shop;password=hunter2", "sqlserver:// URL (host db)"),
        ("jdbc:sqlserver://db:1433;user=app;Pwd=hunter2;encrypt=true", "['Pwd']"),
        ("jdbc:redshift://rs:5439/dev;UID=app;PWD=hunter2", "['PWD']"),
        ("https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sig=hunter2", "['sig']"),
        ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA&X-Amz-Signature=hunter2", "X-Amz-Signature"),
        ("https://api.example.com/v1?access_token=hunter2", "['access_token']"),
        ("jdbc:oracle:thin:scott/hunter2@db:1521:orcl", "a user/password before '@' in a jdbc:oracle:thin URL"),
        ("jdbc:oracle:thin:scott/hunter2@//db:1521/svc", "jdbc:oracle:thin URL"),
        ("-Dlog.endpoint=https://app:hunter2@logs.example.com -Xmx2g", "host logs.example.com) with user info"),
        ("/opt/a.jar,https://app:hunter2@repo.example.com/b.jar", "host repo.example.com) with user info"),
        ("http://proxy.example.com/?to=http://app:hunter2@inner.example.com/", "host inner.example.com"),
        ("https://[::1:hunter2@bad", "cannot be parsed"),
    ],
)
def test_every_url_form_with_a_credential_is_found_without_repeating_it(value, finding):
    found = url_credentials(value)
    assert any(finding in f for f in found), found
    assert not any(SECRET in f for f in found)


@pytest.mark.parametrize(
    "value",
    [
        "s3://bucket/events/a@b/part-0.parquet",  # an '@' in the path is not user info
        "https://example.com/search?q=password",  # the word, not a password parameter
        "jdbc:postgresql://db:5432/shop?user=app&ssl=true",
        "jdbc:oracle:thin:@//db:1521/svc",
        "jdbc:oracle:thin:@db:1521:orcl",
        "team@example.com",
        "org.apache.hudi:hudi-spark3.5-bundle_2.12:0.15.0",
        "file:///opt/spark/jars/x.jar,s3://b/y.jar",
        "https://example.com/?password=",  # no value
    ],
)
def test_urls_without_credentials_pass(value):
    assert url_credentials(value) == []
