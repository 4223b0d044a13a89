-- lineage.column_edges: the column-level lineage table (platform table), one row per
-- source column -> target column through one job, the newest observation of each edge.
-- Rebuilt by the lineage DAG (dags/lineage.py) from the OpenLineage events of the lake and the
-- warehouse SQL; datasets are named as OpenLineage names them (namespace + name).
CREATE SCHEMA IF NOT EXISTS lineage;

CREATE TABLE IF NOT EXISTS lineage.column_edges (
    source_namespace  VARCHAR(256)  NOT NULL ENCODE zstd,
    source_name       VARCHAR(1024) NOT NULL ENCODE zstd,
    source_field      VARCHAR(256)  NOT NULL ENCODE zstd,
    target_namespace  VARCHAR(256)  NOT NULL ENCODE zstd,
    target_name       VARCHAR(1024) NOT NULL ENCODE zstd,
    target_field      VARCHAR(256)  NOT NULL ENCODE zstd,
    job_namespace     VARCHAR(256)  NOT NULL ENCODE zstd,
    job_name          VARCHAR(512)  NOT NULL ENCODE zstd,
    transformation    VARCHAR(16)   NOT NULL ENCODE bytedict,
    subtype           VARCHAR(32)            ENCODE bytedict,
    run_id            VARCHAR(64)            ENCODE zstd,
    event_time        VARCHAR(64)            ENCODE zstd
)
DISTSTYLE ALL
COMPOUND SORTKEY (target_name, target_field);
