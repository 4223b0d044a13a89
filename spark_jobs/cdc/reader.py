"""Read a table's pending DMS files into one DataFrame of change rows (Spark).

Files with the same physical shape are read together; each row gets its landing file, the
file kind (full load / CDC), its row number inside the file, the source operation and, when
something is wrong with it, a ``_cdc_error`` reason. Nothing is dropped here: bad rows are
split off and quarantined by the merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark_jobs.cdc.dms_files import FULL_LOAD
from spark_jobs.cdc.file_inspection import FileShape
from spark_jobs.cdc.results import INVALID_VALUE, MALFORMED_ROW, NULL_PRIMARY_KEY, UNKNOWN_OP
from spark_jobs.cdc.table_config import TableConfig

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

KIND_COL = "_cdc_kind"
"""0 for full-load rows, 1 for CDC rows: a full load comes before any change of the same batch."""
FILE_COL = "_cdc_file"
NAME_COL = "_cdc_name"
ROW_COL = "_cdc_row"
SRC_OP_COL = "_cdc_src_op"
ERROR_COL = "_cdc_error"
META_COLUMNS = (KIND_COL, FILE_COL, NAME_COL, ROW_COL, SRC_OP_COL, ERROR_COL)
_CORRUPT_COL = "_cdc_corrupt"
_PATH_KEY = "_cdc_path_key"
_BLOCK_COL = "_cdc_block"
_MONO_COL = "_cdc_mono"
_VALID_OPS = ("I", "U", "D")
# Markers of empty CSV fields while reading (control characters DMS never writes unescaped).
_UNQUOTED_EMPTY = "\u001fDMS-UNQUOTED-EMPTY\u001f"
_QUOTED_EMPTY = "\u001fDMS-QUOTED-EMPTY\u001f"


@dataclass
class ShapeGroup:
    """Files read together, the data columns (name -> Spark SQL type) they hold, and their rows."""

    shapes: list[FileShape]
    data_types: dict[str, str]
    rows: DataFrame
    raw_rows: DataFrame


@dataclass
class ChangeInput:
    rows: DataFrame
    """Typed data columns + META_COLUMNS, one row per change row read."""
    raw_rows: DataFrame
    """The same rows as read (CSV values as text) with file and error: what quarantine keeps."""
    data_columns: list[tuple[str, str]]
    """Data columns (name, Spark SQL type) of all groups, in order of first appearance."""


def spark_path_key(spark: SparkSession, uri: str) -> str:
    """The string Spark reports in ``_metadata.file_path`` for a file URI."""
    jvm: Any = spark.sparkContext._jvm  # noqa: SLF001
    hadoop_path = jvm.org.apache.hadoop.fs.Path
    path = hadoop_path(uri)
    qualified = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).makeQualified(path)  # noqa: SLF001
    return hadoop_path(qualified.toString()).toUri().toString()


def _files_frame(spark: SparkSession, shapes: list[FileShape]) -> DataFrame:
    from pyspark.sql import functions as F

    rows = [
        (
            spark_path_key(spark, s.file.uri),
            s.file.rel_path,
            s.file.name,
            0 if s.file.kind == FULL_LOAD else 1,
        )
        for s in shapes
    ]
    frame = spark.createDataFrame(
        rows, f"{_PATH_KEY} string, {FILE_COL} string, {NAME_COL} string, {KIND_COL} int"
    )
    return F.broadcast(frame)


def _read_group(spark: SparkSession, config: TableConfig, shapes: list[FileShape]) -> DataFrame:
    """Raw rows of files sharing one shape, with path key, block start and scan order."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    paths = [s.file.uri for s in shapes]
    meta = [
        F.col("_metadata.file_path").alias(_PATH_KEY),
        F.col("_metadata.file_block_start").alias(_BLOCK_COL),
    ]
    if shapes[0].file.file_format == "parquet":
        frame = spark.read.parquet(*paths)
        data = [F.col(f"`{c}`") for c in shapes[0].columns]
        return frame.select(
            *data,
            *meta,
            F.col("_metadata.row_index").alias(_MONO_COL),
            F.lit(None).cast("string").alias(_CORRUPT_COL),
        )
    schema = StructType(
        [StructField(c, StringType()) for c in shapes[0].columns] + [StructField(_CORRUPT_COL, StringType())]
    )
    options = {
        "sep": config.csv.delimiter,
        "header": str(config.csv.header).lower(),
        "quote": config.csv.quote,
        "escape": config.csv.escape,
        # Spark reads an unquoted empty field as NULL and a quoted one ("") as emptyValue: the
        # marker tells them apart, csv_null_rule then applies the table's CsvNullValue.
        "nullValue": _UNQUOTED_EMPTY,
        "emptyValue": _QUOTED_EMPTY,
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": _CORRUPT_COL,
        "multiLine": "true",  # DMS quotes values with line breaks
        "enforceSchema": "true",  # the schema was built from this very header
    }
    frame = spark.read.schema(schema).options(**options).csv(paths)
    data = [csv_null_rule(F.col(f"`{c}`"), config.csv.null_value).alias(c) for c in shapes[0].columns]
    return frame.select(*data, *meta, F.monotonically_increasing_id().alias(_MONO_COL), F.col(_CORRUPT_COL))


def csv_null_rule(field: Column, null_value: str) -> Column:
    """A CSV field (read with the empty-field markers) as DMS meant it.

    - ``csv.null_value: ""`` (DMS default, no CsvNullValue): an unquoted empty field is NULL, a
      quoted empty field (``""``) is the empty string;
    - ``csv.null_value: "X"`` (CsvNullValue ``X``): only a field reading ``X`` is NULL; an empty
      field, quoted or not, is the empty string (a quoted ``"X"`` cannot be told apart: NULL).
    """
    from pyspark.sql import functions as F

    quoted_empty = field == F.lit(_QUOTED_EMPTY)
    if null_value == "":
        return F.when(quoted_empty, F.lit("")).otherwise(field)
    return (
        F.when(field.isNull() | quoted_empty, F.lit(""))
        .when(field == F.lit(null_value), F.lit(None).cast("string"))
        .otherwise(field)
    )


def _column_types(config: TableConfig, shape: FileShape, frame: DataFrame) -> dict[str, str]:
    data_names = [c for c in shape.columns if not (shape.has_op and c == config.op_column)]
    if shape.file.file_format == "parquet":
        types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
        return {c: types[c] for c in data_names}
    configured = {c.name: c.type for c in config.columns or ()}
    return {c: configured.get(c, "string") for c in data_names}


def _error_column(config: TableConfig, shape: FileShape, types: dict[str, str]) -> Column:
    from pyspark.sql import functions as F

    checks: list[Column] = [
        F.when(
            F.col(_CORRUPT_COL).isNotNull(), F.lit(f"{MALFORMED_ROW}: wrong number of fields or bad quoting")
        )
    ]
    if shape.has_op:
        checks.append(
            F.when(
                ~F.coalesce(F.col(SRC_OP_COL).isin(*_VALID_OPS), F.lit(False)),
                F.concat(
                    F.lit(f"{UNKNOWN_OP}: "),
                    F.coalesce(F.col(f"`{config.op_column}`").cast("string"), F.lit("<null>")),
                ),
            )
        )
    null_key = F.lit(False)
    for key in config.primary_key:
        null_key = null_key | F.col(f"`{key}`").isNull()
    checks.append(F.when(null_key, F.lit(f"{NULL_PRIMARY_KEY}: {', '.join(config.primary_key)}")))
    if shape.file.file_format == "csv":
        for name, spark_type in types.items():
            if spark_type.startswith("decimal"):
                checks.append(decimal_text_check(name, spark_type))
            elif spark_type != "string":
                checks.append(
                    F.when(
                        F.col(f"`{name}`").isNotNull() & F.col(f"`{name}`").cast(spark_type).isNull(),
                        F.lit(f"{INVALID_VALUE}: {name} is not a valid {spark_type}"),
                    )
                )
    return F.coalesce(*checks)


_PLAIN_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"
_SIGNIFICANT_FRACTION = r"^\s*[+-]?\d*\.(\d*[1-9])0*\s*$"


def decimal_text_check(name: str, spark_type: str) -> Column:
    """The bad-row reason of a CSV value that ``decimal(p,s)`` cannot hold exactly, else NULL.

    Spark's cast rounds a value with more than ``s`` fractional digits (HALF_UP) and turns one
    with more than ``p - s`` integer digits into NULL, silently; DMS writes the source's exact
    digits. Fractional digits are counted on the text (``1.2300`` has 2); exponent forms are
    compared with a cast at scale ``38 - (p - s)``, which keeps every digit the column could."""
    from pyspark.sql import functions as F

    precision, scale = (int(x) for x in spark_type[len("decimal(") : -1].split(","))
    text = F.col(f"`{name}`")
    narrow = text.cast(f"decimal({precision},{scale})")
    wide = text.cast(f"decimal(38,{38 - (precision - scale)})")
    fraction = F.regexp_extract(text, _SIGNIFICANT_FRACTION, 1)
    fix = f"widen {name}'s type in the table config's columns"
    return (
        F.when(text.isNull(), F.lit(None).cast("string"))
        .when(~text.rlike(_PLAIN_NUMBER), F.lit(f"{INVALID_VALUE}: {name} is not a valid {spark_type}"))
        .when(
            narrow.isNull(),
            F.lit(
                f"{INVALID_VALUE}: {name} exceeds the precision of {spark_type} (at most "
                f"{precision - scale} integer digits once rounded to {scale} fractional digits); {fix}"
            ),
        )
        .when(
            (F.length(fraction) > scale) | (narrow != wide),
            F.lit(
                f"{INVALID_VALUE}: {name} has more than {scale} fractional digits, more than "
                f"{spark_type} holds (it would be rounded); {fix}"
            ),
        )
    )


def read_groups(spark: SparkSession, config: TableConfig, shapes: list[FileShape]) -> list[ShapeGroup]:
    """The (non-empty, inspected) files as change rows, one group per physical file shape.

    Nothing is evaluated yet; check the groups' ``data_types`` (schema drift) before
    :func:`combine_groups`, which needs compatible types.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    files = _files_frame(spark, shapes)
    by_signature: dict[str, list[FileShape]] = {}
    for shape in sorted(shapes, key=lambda s: s.file.order_key):
        by_signature.setdefault(shape.signature, []).append(shape)

    groups = []
    for group_shapes in by_signature.values():
        shape = group_shapes[0]
        is_csv = shape.file.file_format == "csv"
        raw = _read_group(spark, config, group_shapes)
        types = _column_types(config, shape, raw)
        op = F.upper(F.trim(F.col(f"`{config.op_column}`").cast("string"))) if shape.has_op else F.lit("I")
        raw = raw.withColumn(SRC_OP_COL, op).join(files, _PATH_KEY, "left")
        raw = raw.withColumn(ERROR_COL, _error_column(config, shape, types))
        if is_csv:
            row_number = F.row_number().over(Window.partitionBy(FILE_COL).orderBy(_BLOCK_COL, _MONO_COL)) - 1
        else:
            row_number = F.col(_MONO_COL)
        typed = raw.select(
            *[
                F.col(f"`{name}`").cast(t).alias(name) if is_csv else F.col(f"`{name}`")
                for name, t in types.items()
            ],
            F.col(KIND_COL),
            F.col(FILE_COL),
            F.col(NAME_COL),
            row_number.cast("long").alias(ROW_COL),
            F.col(SRC_OP_COL),
            F.col(ERROR_COL),
        )
        raw_out = raw.select(*[F.col(f"`{c}`") for c in shape.columns], FILE_COL, ERROR_COL)
        groups.append(ShapeGroup(group_shapes, types, typed, raw_out))
    return groups


def combine_groups(groups: list[ShapeGroup]) -> ChangeInput:
    """One DataFrame of all groups (columns missing in a group are null there)."""
    data_columns: dict[str, str] = {}
    for group in groups:
        for name, spark_type in group.data_types.items():
            data_columns.setdefault(name, spark_type)
    rows, raw_rows = groups[0].rows, groups[0].raw_rows
    for group in groups[1:]:
        rows = rows.unionByName(group.rows, allowMissingColumns=True)
        raw_rows = raw_rows.unionByName(group.raw_rows, allowMissingColumns=True)
    return ChangeInput(rows=rows, raw_rows=raw_rows, data_columns=list(data_columns.items()))
