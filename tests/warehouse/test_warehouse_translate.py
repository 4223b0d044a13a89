"""Redshift SQL in include/warehouse/ translates to PostgreSQL (and really runs there)."""

from __future__ import annotations

import pytest

from data_platform.warehouse.tables import all_sql_files
from data_platform.warehouse.translate import for_dialect, split_statements, to_postgres, translate_statement


def test_every_sql_file_translates_and_executes_on_postgresql(warehouse):
    import psycopg

    files = all_sql_files()
    assert {f.name for f in files} >= {
        "demo.events.sql",
        "dp_audit.load_log.sql",
        "demo.load_events_daily.sql",
    }
    with psycopg.connect(host=warehouse.socket_dir, user="postgres", dbname="warehouse") as conn:
        for path in files:
            for statement in to_postgres(path.read_text()):
                assert "DISTKEY" not in statement.upper() and "ENCODE" not in statement.upper()
                conn.execute(statement)
        conn.rollback()  # DDL is transactional in PostgreSQL: leave nothing behind


@pytest.mark.parametrize(
    ("redshift", "postgres"),
    [
        (
            "CREATE TABLE s.t (id BIGINT NOT NULL ENCODE az64, v VARCHAR(MAX), j SUPER) "
            "DISTSTYLE KEY DISTKEY(id) COMPOUND SORTKEY(id)",
            "CREATE TABLE s.t (id BIGINT NOT NULL, v TEXT, j JSONB)",
        ),
        ("CREATE TABLE s.t (a INT ENCODE AUTO) DISTSTYLE AUTO SORTKEY AUTO", "CREATE TABLE s.t (a INT)"),
        (
            "CREATE TABLE s.t (a INT, b INT) DISTSTYLE ALL INTERLEAVED SORTKEY (a, b) BACKUP NO",
            "CREATE TABLE s.t (a INT, b INT)",
        ),
        (
            "SELECT NVL(a, 0), GETDATE(), LEN(s) FROM t",
            "SELECT COALESCE(a, 0), CURRENT_TIMESTAMP, LENGTH(s) FROM t",
        ),
    ],
)
def test_physical_design_clauses_and_functions_are_translated(redshift, postgres):
    assert translate_statement(redshift) == postgres


def test_procedures_get_postgres_argument_order_and_translated_dml():
    (statement,) = to_postgres(
        "CREATE OR REPLACE PROCEDURE s.p(a IN INT, b INOUT VARCHAR(10), c DECIMAL(5, 2)) NONATOMIC AS $$\n"
        "DECLARE n INT;\nBEGIN\n  UPDATE s.t SET x = NVL(y, 0) WHERE k = a;\n"
        "  IF a > 0 THEN\n    RAISE INFO 'a; b';\n  END IF;\nEND;\n$$ LANGUAGE plpgsql"
    )
    assert statement.startswith(
        "CREATE OR REPLACE PROCEDURE s.p(IN a INT, INOUT b VARCHAR(10), c DECIMAL(5, 2)) AS $$"
    )
    assert "UPDATE s.t SET x = COALESCE(y, 0) WHERE k = a;" in statement
    assert "RAISE INFO 'a; b';" in statement and "NONATOMIC" not in statement
    assert statement.endswith("$$ LANGUAGE plpgsql")


def test_statement_splitting_respects_quotes_dollar_bodies_and_comments():
    sql = "-- header; comment\nSELECT 'a;b';\n/* x; */ CREATE PROCEDURE p() AS $$ BEGIN NULL; END; $$ LANGUAGE plpgsql;\n"
    assert split_statements(sql) == [
        "SELECT 'a;b'",
        "CREATE PROCEDURE p() AS $$ BEGIN NULL; END; $$ LANGUAGE plpgsql",
    ]
    assert for_dialect(sql, "redshift") == split_statements(sql)
    with pytest.raises(ValueError, match="Unknown warehouse dialect"):
        for_dialect(sql, "mysql")


def test_untranslatable_sql_is_an_error_naming_the_statement():
    with pytest.raises(ValueError, match="could not parse"):
        translate_statement("UNLOAD ('select 1') TO 's3://b/x' IAM_ROLE 'arn'")
