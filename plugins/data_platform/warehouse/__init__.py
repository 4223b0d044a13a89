"""The warehouse layer: Redshift on aws, PostgreSQL locally, one SQL dialect (Redshift).

- ``operators.LoadToWarehouseOperator``: lake Parquet files -> staging -> merge / append / replace /
  stored procedure, in one transaction; metrics as XCom.
- ``operators.CheckWarehouseTableOperator``: YAML data-quality rules through the common-sql
  ``SQLTableCheckOperator``; failures show the rule and sample rows, and alert.
- ``tables``: object names and the ``include/warehouse/`` layout; ``translate``: Redshift SQL
  to PostgreSQL (sqlglot); ``loader`` / ``merge`` / ``staging`` / ``bulk_copy``: the load
  itself; ``quality``: rules -> checks; ``connection``: hook, dialect, lineage names.
"""
