"""Data-quality rules (YAML per table) compiled into SQL checks.

Rules file ``include/warehouse/quality/<schema>.<table>.yaml``::

    table: demo.events
    rules:
      - type: row_count            # COUNT(*) equals the source count given at run time
        equals: source             # or a number
      - type: primary_key          # unique and not null (one or more columns)
        columns: [event_id]
      - type: not_null
        columns: [user_id, event_type]
      - type: accepted_values
        column: event_type
        values: [view, click, purchase]
      - type: range                # min and/or max, inclusive
        column: amount
        min: 0
        max: 100000
      - type: freshness            # MAX(column) within N hours before the data interval end
        column: updated_at
        max_age_hours: 48
      - type: not_in_future        # no value later than the check's time (+ tolerance, minutes)
        column: updated_at
        tolerance_minutes: 5

Every rule may carry ``name`` (default: derived) and ``where`` (a SQL filter for that rule).
Each rule becomes one boolean aggregate (run by ``SQLTableCheckOperator``) plus a query that
fetches a few offending rows to show when the rule fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, assert_never

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from data_platform.config import ConfigError, load_yaml
from data_platform.warehouse.tables import TableName, identifier, quote, rules_file

Value = bool | int | float | str


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None  # default: derived from the rule
    where: str | None = None  # a SQL filter for this rule only


class RowCountRule(_Rule):
    """``COUNT(*)`` equals a number, or the source count given at run time (``source``)."""

    type: Literal["row_count"]
    equals: int | Literal["source"] = "source"


class PrimaryKeyRule(_Rule):
    """The columns are unique together and never null."""

    type: Literal["primary_key"]
    columns: list[str] = Field(min_length=1)


class NotNullRule(_Rule):
    """Each column is never null (one check per column)."""

    type: Literal["not_null"]
    columns: list[str] = Field(default_factory=list)
    column: str | None = None

    @model_validator(mode="after")
    def _some_column(self) -> NotNullRule:
        if not self.columns and not self.column:
            raise ValueError("give column or columns")
        return self


class AcceptedValuesRule(_Rule):
    type: Literal["accepted_values"]
    column: str
    values: list[Value] = Field(min_length=1)


class RangeRule(_Rule):
    """``min`` and/or ``max``, inclusive."""

    type: Literal["range"]
    column: str
    min: Value | None = None
    max: Value | None = None

    @model_validator(mode="after")
    def _a_bound(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise ValueError("give min and/or max")
        return self


class FreshnessRule(_Rule):
    """``MAX(column)`` within ``max_age_hours`` before the data interval end."""

    type: Literal["freshness"]
    column: str
    max_age_hours: float = Field(gt=0)


class NotInFutureRule(_Rule):
    """No value later than the check's own time plus ``tolerance_minutes`` (clock skew)."""

    type: Literal["not_in_future"]
    column: str
    tolerance_minutes: float = Field(default=5, ge=0)


Rule = Annotated[
    RowCountRule
    | PrimaryKeyRule
    | NotNullRule
    | AcceptedValuesRule
    | RangeRule
    | FreshnessRule
    | NotInFutureRule,
    Field(discriminator="type"),
]
_RULE = TypeAdapter(Rule)


@dataclass(frozen=True)
class Check:
    name: str  # unique, a valid SQL identifier (the check operator uses it as a column alias)
    rule_type: str
    description: str
    statement: str  # boolean aggregate over the table, e.g. "COUNT(*) = 1000"
    sample_sql: str  # offending rows (or the measured value), limited
    where: str | None = None


def load_rules(rules: str | Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """``(origin, rules)`` from a rules name (``include/warehouse/quality/<name>.yaml``) or a dict
    (validated into :data:`Rule` models by :func:`compile_checks`)."""
    if isinstance(rules, str):
        origin = str(rules_file(rules))
        document = load_yaml(f"warehouse/quality/{rules}.yaml")
    else:
        origin, document = "inline rules", rules
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), list):
        raise ConfigError(f"{origin}: expected a mapping with a 'rules:' list.")
    return origin, [dict(rule) for rule in document["rules"]]


def literal(value: Any) -> str:
    """A SQL literal for a rule value (no backslashes: Redshift treats them as escapes)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if "\\" in text or any(ord(ch) < 32 for ch in text):
        raise ConfigError(f"Rule value {text!r} contains a backslash or control character.")
    return "'" + text.replace("'", "''") + "'"


def _check_name(index: int, rule_type: str, detail: str) -> str:
    raw = f"r{index:02d}_{rule_type}_{detail}".lower()
    return re.sub(r"[^a-z0-9_]", "_", raw)[:60]


def _and(*clauses: str | None) -> str:
    present = [f"({c})" for c in clauses if c]
    return f" WHERE {' AND '.join(present)}" if present else ""


def _timestamp_literal(moment: datetime, column_type: str) -> str:
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    if column_type == "date":
        return f"CAST('{utc:%Y-%m-%d}' AS DATE)"
    if "with time zone" in column_type:
        return f"CAST('{utc:%Y-%m-%d %H:%M:%S}+00' AS TIMESTAMPTZ)"
    return f"CAST('{utc:%Y-%m-%d %H:%M:%S}' AS TIMESTAMP)"


def compile_checks(
    table: TableName,
    rules: Sequence[Mapping[str, Any]],
    *,
    origin: str,
    column_types: Mapping[str, str],
    source_row_count: int | None = None,
    interval_end: datetime | None = None,
    partition_clause: str | None = None,
    sample_size: int = 5,
    dialect: str = "redshift",
) -> list[Check]:
    """The checks of ``rules`` on ``table``; ``partition_clause`` filters every check; names go
    into the SQL quoted by ``dialect``'s rules."""
    checks: list[Check] = []
    for index, raw in enumerate(rules, start=1):
        try:
            rule = _RULE.validate_python(raw)
        except ValidationError as err:
            problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())
            raise ConfigError(f"{origin}: rule #{index} {dict(raw)} is invalid: {problems}") from None
        try:
            checks.extend(
                _compile_rule(
                    index,
                    rule,
                    table,
                    column_types,
                    source_row_count,
                    interval_end,
                    partition_clause,
                    sample_size,
                    dialect,
                )
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"{origin}: rule #{index} {dict(raw)} is invalid: {err}") from err
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise ConfigError(f"{origin}: rule names must be unique, got {names}.")
    return checks


def _column(name: str, column_types: Mapping[str, str]) -> str:
    column = identifier(name)
    if column not in column_types:
        raise ValueError(f"column {column!r} is not in the table (columns: {sorted(column_types)})")
    return column


def _compile_rule(
    index: int,
    rule: Rule,
    table: TableName,
    column_types: Mapping[str, str],
    source_row_count: int | None,
    interval_end: datetime | None,
    partition_clause: str | None,
    sample_size: int,
    dialect: str,
) -> list[Check]:
    rule_type = rule.type
    sql_table = table.sql(dialect)

    def q(column: str) -> str:
        return quote(column, dialect)

    where = rule.where
    scope = _and(partition_clause, where)
    limit = f" LIMIT {int(sample_size)}"

    def named(detail: str) -> str:
        return rule.name or _check_name(index, rule_type, detail)

    if isinstance(rule, RowCountRule):
        if rule.equals == "source" and source_row_count is None:
            raise ValueError("equals: source needs source_row_count passed to the check task")
        expected = source_row_count if rule.equals == "source" else rule.equals
        return [
            Check(
                named("equals"),
                rule_type,
                f"row count equals {expected}",
                f"COUNT(*) = {expected}",
                f"SELECT COUNT(*) AS row_count, {expected} AS expected FROM {sql_table}{scope}",
                where,
            )
        ]
    if isinstance(rule, PrimaryKeyRule):
        key = [_column(c, column_types) for c in rule.columns]
        if len(key) == 1:
            distinct = q(key[0])
        else:
            distinct = " || '|' || ".join(f"CAST({q(c)} AS VARCHAR(256))" for c in key)
        nulls = " OR ".join(f"{q(c)} IS NULL" for c in key)
        listed_key = ", ".join(q(c) for c in key)
        return [
            Check(
                named("_".join(key)),
                rule_type,
                f"primary key ({', '.join(key)}) is unique and not null",
                f"COUNT(*) = COUNT(DISTINCT {distinct})",
                f"SELECT {listed_key}, COUNT(*) AS occurrences FROM {sql_table}{scope} "
                f"GROUP BY {listed_key} HAVING COUNT(*) > 1 OR {nulls} ORDER BY 1{limit}",
                where,
            )
        ]
    if isinstance(rule, NotNullRule):
        checks = []
        for raw in rule.columns or [rule.column or ""]:
            column = _column(raw, column_types)
            checks.append(
                Check(
                    f"{rule.name}_{column}" if rule.name else _check_name(index, rule_type, column),
                    rule_type,
                    f"{column} is never null",
                    f"COUNT(*) = COUNT({q(column)})",
                    f"SELECT * FROM {sql_table}{_and(partition_clause, where, f'{q(column)} IS NULL')}{limit}",
                    where,
                )
            )
        return checks
    if isinstance(rule, AcceptedValuesRule):
        column = _column(rule.column, column_types)
        values = rule.values
        listed = ", ".join(literal(v) for v in values)
        outside = f"{q(column)} NOT IN ({listed})"
        return [
            Check(
                named(column),
                rule_type,
                f"{column} only takes the values {values}",
                f"COUNT(CASE WHEN {outside} THEN 1 END) = 0",
                f"SELECT * FROM {sql_table}{_and(partition_clause, where, outside)}{limit}",
                where,
            )
        ]
    if isinstance(rule, RangeRule):
        column = _column(rule.column, column_types)
        bounds = []
        if rule.min is not None:
            bounds.append(f"{q(column)} < {literal(rule.min)}")
        if rule.max is not None:
            bounds.append(f"{q(column)} > {literal(rule.max)}")
        outside = " OR ".join(bounds)
        return [
            Check(
                named(column),
                rule_type,
                f"{column} within [{'-inf' if rule.min is None else rule.min}, "
                f"{'+inf' if rule.max is None else rule.max}]",
                f"COUNT(CASE WHEN {outside} THEN 1 END) = 0",
                f"SELECT * FROM {sql_table}{_and(partition_clause, where, outside)}{limit}",
                where,
            )
        ]
    if isinstance(rule, FreshnessRule):
        column = _column(rule.column, column_types)
        hours = rule.max_age_hours
        if interval_end is None:
            raise ValueError("freshness needs the data interval end of the run")
        threshold = _timestamp_literal(interval_end - timedelta(hours=hours), column_types[column])
        return [
            Check(
                named(column),
                rule_type,
                f"MAX({column}) is at most {hours:g} h older than the data interval end {interval_end.isoformat()}",
                f"MAX({q(column)}) >= {threshold}",
                f"SELECT MAX({q(column)}) AS latest, {threshold} AS oldest_allowed FROM {sql_table}{scope}",
                where,
            )
        ]
    if isinstance(rule, NotInFutureRule):
        column = _column(rule.column, column_types)
        minutes = rule.tolerance_minutes
        latest = _timestamp_literal(datetime.now(UTC) + timedelta(minutes=minutes), column_types[column])
        future = f"{column} > {latest}"
        return [
            Check(
                named(column),
                rule_type,
                f"{column} is not later than the check time + {minutes:g} min",
                f"COUNT(CASE WHEN {future} THEN 1 END) = 0",
                f"SELECT * FROM {table}{_and(partition_clause, where, future)}{limit}",
                where,
            )
        ]
    assert_never(rule)
