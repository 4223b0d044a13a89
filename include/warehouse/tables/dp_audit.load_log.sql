-- dp_audit.load_log: one row per lake file loaded into a warehouse table (platform table).
-- Written in the same transaction as the rows it describes; append loads skip files found here.
CREATE SCHEMA IF NOT EXISTS dp_audit;

CREATE TABLE IF NOT EXISTS dp_audit.load_log (
    target_table  VARCHAR(256)  NOT NULL ENCODE zstd,
    source_uri    VARCHAR(1024) NOT NULL ENCODE zstd,
    source_bytes  BIGINT                 ENCODE az64,
    load_mode     VARCHAR(16)   NOT NULL ENCODE bytedict,
    dag_id        VARCHAR(250)           ENCODE zstd,
    task_id       VARCHAR(250)           ENCODE zstd,
    run_id        VARCHAR(250)           ENCODE zstd,
    loaded_at     TIMESTAMP     NOT NULL DEFAULT GETDATE() ENCODE az64
)
DISTSTYLE ALL
COMPOUND SORTKEY (target_table, loaded_at);
