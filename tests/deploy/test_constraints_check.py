"""The check of the local pins against the MWAA Airflow constraints file (a file the user supplies:
the constraints exist only on GitHub, which is not reachable offline)."""

from __future__ import annotations

from data_platform.deploy.constraints import LOCAL_CONSTRAINTS, compare_pins, main, read_pins


def test_differences_are_reported_by_canonical_name(tmp_path):
    local = tmp_path / "local.txt"
    local.write_text("# pins\nSQLAlchemy==2.0.40\nrequests==2.34.2\nonly-local==1.0\n")
    mwaa = tmp_path / "mwaa.txt"
    mwaa.write_text("sqlalchemy==2.0.41\nRequests==2.34.2 # same\nonly_mwaa==3\n-e .\n")
    differences = compare_pins(read_pins(local), read_pins(mwaa))
    assert [(d.name, d.local, d.mwaa) for d in differences] == [("sqlalchemy", "2.0.40", "2.0.41")]


def test_the_command_fails_on_a_difference_and_passes_on_agreement(tmp_path, capsys):
    pins = read_pins(LOCAL_CONSTRAINTS)
    agreeing = tmp_path / "constraints-3.12.txt"
    agreeing.write_text(f"apache-airflow-providers-amazon=={pins['apache-airflow-providers-amazon']}\n")
    assert main(["check", "--mwaa-constraints", str(agreeing)]) == 0
    differing = tmp_path / "constraints-3.12-other.txt"
    differing.write_text("apache-airflow-providers-amazon==1.0.0\n")
    assert main(["check", "--mwaa-constraints", str(differing)]) == 1
    assert "apache-airflow-providers-amazon: local" in capsys.readouterr().out
    assert main(["check", "--mwaa-constraints", str(tmp_path / "missing.txt")]) == 2
