"""Order change rows and reduce them to the net change per key (Spark).

Change order, first criterion first:

1. file kind: full-load rows before CDC rows of the same batch;
2. the configured ordering columns (e.g. commit timestamp, change sequence), compared by their
   type; a NULL ordering value is older than every non-NULL value (the NULL-ordering rule, the
   same in the warehouse merge: :mod:`data_platform.warehouse.merge`);
3. file name, then row number inside the file (only as tiebreaks: DMS does not write changes
   in commit order across files).

The latest change of each key wins. A key deleted and re-inserted in one batch ends as an
upsert; a key inserted and deleted in one batch that never reached the table ends as a delete
with nothing to remove: its tombstone.

Late changes: DMS does not write files in commit order, so a file can land after a newer change
of the same key was merged. The table row keeps its ``_cdc_seq``; a change whose ``_cdc_seq`` is
lower than the row's is late and never applied (an update does not overwrite the row, a delete
does not remove it), as Hudi's ordering-aware payloads do with the precombine field. A deleted
key keeps its delete's ``_cdc_seq`` as a tombstone (:mod:`spark_jobs.cdc.tombstones`): an
update older than the delete does not re-insert the key, a newer re-insert applies.

Already applied changes: ``_cdc_seq`` names the file and row a change came from, so a change
whose key the table (or its tombstone) holds with the same ``_cdc_seq`` is that very change,
applied before (a DMS file landed again, e.g. rewritten with the same rows: a new ETag or mtime
makes it pending again). It is never applied, written to a change set or loaded a second time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_jobs.cdc.reader import FILE_COL, KIND_COL, NAME_COL, ROW_COL, SRC_OP_COL
from spark_jobs.cdc.table_config import OP_COLUMN, SEQ_COLUMN, TableConfig

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

_INTEGRAL = {"tinyint": 3, "smallint": 5, "int": 10, "bigint": 19}  # digits of the type's limit
_EXISTS_COL = "_cdc_exists"
_TABLE_SEQ_COL = "_cdc_table_seq"
LATE_OP = "L"  # classify_net_change: a change older than the table's row (dropped by the caller)
TOMBSTONE_OP = "X"  # classify_net_change: a delete of a key the table does not hold (tombstone only)
APPLIED_OP = "A"  # classify_net_change / mark_applied: the table holds this very change (dropped)


class OrderingTypeError(ValueError):
    """An ordering column's type cannot be turned into text that sorts like its values."""


def _render(name: str, spark_type: str) -> Column:
    """Text of an ordering value that sorts (byte-wise) like the value: ``0`` for NULL (older
    than any value), else ``1`` + a fixed-width form (numbers shifted to non-negative)."""
    from pyspark.sql import functions as F

    column = F.col(f"`{name}`")
    if spark_type in _INTEGRAL:
        digits = _INTEGRAL[spark_type] + 1
        shifted = column.cast("decimal(38,0)") + F.lit(str(10 ** _INTEGRAL[spark_type])).cast("decimal(38,0)")
        text = F.lpad(shifted.cast("string"), digits, "0")
    elif spark_type.startswith("decimal"):
        precision, scale = (int(x) for x in spark_type[len("decimal(") : -1].split(","))
        if precision > 37:
            raise OrderingTypeError(
                f"ordering column {name!r} is {spark_type}; ordering decimals need precision <= 37"
            )
        whole = precision - scale + 1
        shifted = (column + F.lit(str(10 ** (precision - scale))).cast(f"decimal({whole},0)")).cast(
            f"decimal({whole + scale},{scale})"
        )
        text = F.lpad(shifted.cast("string"), whole + (scale + 1 if scale else 0), "0")
    elif spark_type.startswith("timestamp"):
        text = F.date_format(column, "yyyy-MM-dd HH:mm:ss.SSSSSS")
    elif spark_type == "date":
        text = F.date_format(column, "yyyy-MM-dd")
    elif spark_type == "string":
        text = column
    else:
        raise OrderingTypeError(
            f"ordering column {name!r} has type {spark_type}, which cannot order changes; use a "
            "timestamp, date, integer, decimal or fixed-width text column"
        )
    return F.when(column.isNull(), F.lit("0")).otherwise(F.concat(F.lit("1"), text))


def sequence_column(config: TableConfig, types: dict[str, str]) -> Column:
    """``_cdc_seq``: the change order as one sortable string, stable across reruns.

    ``<kind>|<ordering values>|<file name>|<row number>``: it is the Hudi precombine field, with
    the key it identifies a history row, and it is the ordering value the lake and the warehouse
    compare a change with the table's row by (plain byte-wise text comparison).
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


def classify_net_change(
    net: DataFrame, existing: DataFrame | None, config: TableConfig, tombstones: DataFrame | None = None
) -> DataFrame:
    """Add ``_cdc_op`` relative to the table before this load (``existing``: its rows, with
    ``_cdc_seq``; ``tombstones``: its deleted keys with the delete's ``_cdc_seq``).

    ``I``: key not in the table, upserted; ``U``: key in the table, upserted; ``D``: key in the
    table, deleted; ``X`` (:data:`TOMBSTONE_OP`): key not in the table, deleted (nothing to
    remove, but its tombstone records the delete); ``L`` (:data:`LATE_OP`): the table's row or
    the key's tombstone has a higher ``_cdc_seq`` than the change (a late change: never
    applied, so an update older than a delete does not re-insert the key); ``A``
    (:data:`APPLIED_OP`): the table's row or the key's tombstone has the change's ``_cdc_seq``
    (the same change, applied by an earlier load).
    """
    from pyspark.sql import functions as F

    keys = [F.col(f"`{k}`") for k in config.primary_key]
    deleted = F.col(SRC_OP_COL) == "D"
    known = []
    if existing is not None:
        known.append(existing.select(*keys, F.col(SEQ_COLUMN).alias(_TABLE_SEQ_COL), F.lit(True).alias(_EXISTS_COL)))
    if tombstones is not None:
        known.append(
            tombstones.select(*keys, F.col(SEQ_COLUMN).alias(_TABLE_SEQ_COL), F.lit(False).alias(_EXISTS_COL))
        )
    if not known:
        return net.withColumn(OP_COLUMN, F.when(deleted, F.lit(TOMBSTONE_OP)).otherwise(F.lit("I")))
    marked = known[0] if len(known) == 1 else known[0].unionByName(known[1])
    joined = net.join(marked, on=list(config.primary_key), how="left")
    exists = F.coalesce(F.col(_EXISTS_COL), F.lit(False))
    applied = F.col(_TABLE_SEQ_COL).isNotNull() & (F.col(SEQ_COLUMN) == F.col(_TABLE_SEQ_COL))
    late = F.col(_TABLE_SEQ_COL).isNotNull() & (F.col(SEQ_COLUMN) < F.col(_TABLE_SEQ_COL))
    op = (
        F.when(applied, APPLIED_OP)
        .when(late, LATE_OP)
        .when(deleted & exists, "D")
        .when(deleted, TOMBSTONE_OP)
        .when(exists, "U")
        .otherwise("I")
    )
    return joined.withColumn(OP_COLUMN, op).drop(_EXISTS_COL, _TABLE_SEQ_COL)


def history_rows(rows: DataFrame) -> DataFrame:
    """Every change row, with ``_cdc_op`` = the source operation (historical storage mode)."""
    from pyspark.sql import functions as F

    return rows.withColumn(OP_COLUMN, F.col(SRC_OP_COL))


def mark_applied(history: DataFrame, table: DataFrame | None, config: TableConfig) -> DataFrame:
    """``history`` (a historical table's change rows with ``_cdc_op``) with ``_cdc_op`` set to
    :data:`APPLIED_OP` where ``table`` (its rows with ``_cdc_seq``; ``None``: none yet) holds
    the same key and ``_cdc_seq``: rows the table has already."""
    from pyspark.sql import functions as F

    if table is None:
        return history
    keys = [*config.primary_key, SEQ_COLUMN]
    held = table.select(*[F.col(f"`{k}`") for k in keys]).distinct().withColumn(_EXISTS_COL, F.lit(True))
    op = F.when(F.col(_EXISTS_COL).isNotNull(), F.lit(APPLIED_OP)).otherwise(F.col(OP_COLUMN))
    return history.join(held, on=keys, how="left").withColumn(OP_COLUMN, op).drop(_EXISTS_COL)


def output_frame(frame: DataFrame, data_columns: list[str]) -> DataFrame:
    """Data columns (in table order) + ``_cdc_op`` + ``_cdc_seq``: the shape of every output."""
    from pyspark.sql import functions as F

    return frame.select(*[F.col(f"`{c}`") for c in data_columns], F.col(OP_COLUMN), F.col(SEQ_COLUMN))
