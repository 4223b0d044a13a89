"""The lineage questions as a user asks them: ``python -m data_platform.lineage upstream ...``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data_platform.lineage.__main__ import main
from data_platform.lineage.columns import ColumnEdge

WH = "postgres://localhost:5432"


@pytest.fixture
def edges_json(tmp_path: Path) -> Path:
    edges = [
        ColumnEdge(
            "file", "/lake/cdc/erp/invoices", "amount", WH, "warehouse.erp.invoices", "amount", "t", "load"
        ),
        ColumnEdge("file", "/lake/cdc/erp/invoices", "id", WH, "warehouse.erp.invoices", "id", "t", "load"),
    ]
    path = tmp_path / "edges.json"
    path.write_text(json.dumps([e.as_dict() for e in edges]))
    return path


def test_edges_given_as_a_local_path(edges_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upstream", "erp.invoices", "amount", "--edges", str(edges_json)]) == 0
    out = capsys.readouterr().out
    assert f"upstream of {WH}/warehouse.erp.invoices.amount:" in out
    assert "file//lake/cdc/erp/invoices.amount" in out


def test_a_missing_lineage_table_says_how_to_make_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none" / "edges.json"
    assert main(["upstream", "erp.invoices", "amount", "--edges", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"No column lineage table at {missing.as_uri()}" in err
    assert "the `lineage` DAG writes it" in err


def test_a_wrong_column_lists_the_columns_of_the_dataset(
    edges_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["downstream", "erp.invoices", "amout", "--edges", str(edges_json)]) == 2
    err = capsys.readouterr().err
    assert "No column 'amout' of a dataset 'erp.invoices'" in err
    assert "columns of 'erp.invoices' in the lineage: ['amount', 'id']" in err
