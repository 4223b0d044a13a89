"""Order change rows and reduce them to the net change per key (Spark).

Change order, first criterion first:

1. file kind: full-load rows before CDC rows of the same batch;
2. the configured ordering columns (e.g. commit timestamp, change sequence), NULL earliest;
3. file name, then row number inside the file (only as tiebreaks: DMS does not write changes
   in commit order across files).

The latest change of each key wins. A key deleted and re-inserted in one batch ends as an
upsert; a key inserted and deleted in one batch that never reached the table is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_jobs.cdc.reader import FILE_COL, KIND_COL, NAME_COL, ROW_COL, SRC_OP_COL
from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, TableConfig

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_INTEGRAL = ("tinyint", "smallint", "int", "bigint")
_EXISTS_COL = "_cdc_exists"


def _render(name: str, spark_type: str) -> Column:
    """A text form of an ordering value that sorts like the value (for ``_cdc_seq``)."""
    from pyspark.sql import functions as F

    column = F.col(f"`{name}`")
    if spark_type in _INTEGRAL or spark_type.startswith("decimal"):
        text = F.lpad(column.cast("string"), 40, "0")
    elif spark_type.startswith("timestamp"):
        text = F.date_format(column, "yyyy-MM-dd HH:mm:ss.SSSSSS")
    elif spark_type == "date":
        text = F.date_format(column, "yyyy-MM-dd")
    else:
        text = column.cast("string")
    return F.coalesce(text, F.lit(""))


def sequence_column(config: TableConfig, types: dict[str, str]) -> Column:
    """``_cdc_seq``: the change order as one sortable string, stable across reruns.

    It is the Hudi precombine field and, with the key, identifies a history row. Ordering
    columns should be text of fixed width (DMS timestamps and change sequences are),
    timestamps, dates or non-negative numbers, so that the text sorts like the values.
    """
    from pyspark.sql import functions as F

    parts = [F.col(KIND_COL).cast("string")]
    parts += [_render(name, types[name]) for name in config.ordering_columns]
    parts += [F.col(NAME_COL), F.lpad(F.col(ROW_COL).cast("string"), 12, "0")]
    return F.concat_ws("|", *parts)


def change_order_desc(config: TableConfig) -> list[Column]:
    """Latest change first."""
    from pyspark.sql import functions as F

    return [
        F.col(KIND_COL).desc(),
        *[F.col(f"`{name}`").desc_nulls_last() for name in config.ordering_columns],
        F.col(NAME_COL).desc(),
        F.col(FILE_COL).desc(),
        F.col(ROW_COL).desc(),
    ]


def latest_per_key(rows: DataFrame, config: TableConfig) -> DataFrame:
    """One row per primary key: its latest change (all columns of ``rows`` kept)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = [F.col(f"`{k}`") for k in config.primary_key]
    window = Window.partitionBy(*keys).orderBy(*change_order_desc(config))
    return rows.withColumn("_cdc_rank", F.row_number().over(window)).filter("_cdc_rank = 1").drop("_cdc_rank")


def classify_net_change(net: DataFrame, existing_keys: DataFrame | None, config: TableConfig) -> DataFrame:
    """Add ``_cdc_op`` relative to the table before this load.

    ``I``: key not in the table, upserted; ``U``: key in the table, upserted; ``D``: key in the
    table, deleted. Deletes of keys the table does not have are no-ops and dropped.
    """
    from pyspark.sql import functions as F

    deleted = F.col(SRC_OP_COL) == "D"
    if existing_keys is None:
        return net.withColumn(OP_COLUMN, F.when(~deleted, F.lit("I"))).filter(F.col(OP_COLUMN).isNotNull())
    marked = existing_keys.select(*[F.col(f"`{k}`") for k in config.primary_key]).distinct()
    marked = marked.withColumn(_EXISTS_COL, F.lit(True))
    joined = net.join(marked, on=list(config.primary_key), how="left")
    exists = F.coalesce(F.col(_EXISTS_COL), F.lit(False))
    op = F.when(deleted & exists, "D").when(~deleted & exists, "U").when(~deleted, "I")
    return joined.withColumn(OP_COLUMN, op).filter(F.col(OP_COLUMN).isNotNull()).drop(_EXISTS_COL)


def history_rows(rows: DataFrame) -> DataFrame:
    """Every change row, with ``_cdc_op`` = the source operation (historical storage mode)."""
    from pyspark.sql import functions as F

    return rows.withColumn(OP_COLUMN, F.col(SRC_OP_COL))


def output_frame(frame: DataFrame, data_columns: list[str]) -> DataFrame:
    """Data columns (in table order) + ``_cdc_op`` + ``_cdc_seq``: the shape of every output."""
    from pyspark.sql import functions as F

    return frame.select(*[F.col(f"`{c}`") for c in data_columns], F.col(OP_COLUMN), F.col(SEQ_COLUMN))
