-- jira.issues: the Jira reporting table, one row per issue that exists in Jira (latest version
-- by `updated`), merged by issue_id from the lake table jira/<site>/tables/issues_changes
-- (deleted issues removed). Built by spark_jobs/jira/transform.py; column meanings in
-- spark_jobs/jira/flatten.py. Custom fields: all of them in custom_fields (JSON text, keys are
-- the cf_* column names of the lake table); add a cf_* column here to get one as a column.
CREATE SCHEMA IF NOT EXISTS jira;

CREATE TABLE IF NOT EXISTS jira.issues (
    issue_id              BIGINT         NOT NULL ENCODE az64,
    issue_key             VARCHAR(64)    NOT NULL ENCODE zstd,
    project_id            VARCHAR(32)             ENCODE zstd,
    project_key           VARCHAR(64)             ENCODE bytedict,
    project_name          VARCHAR(256)            ENCODE zstd,
    issue_type            VARCHAR(128)            ENCODE bytedict,
    is_subtask            BOOLEAN,
    summary               VARCHAR(1024)           ENCODE zstd,
    description           VARCHAR(MAX)            ENCODE zstd,
    status                VARCHAR(128)   NOT NULL ENCODE bytedict,
    status_category       VARCHAR(32)             ENCODE bytedict,
    status_category_name  VARCHAR(64)             ENCODE bytedict,
    priority              VARCHAR(64)             ENCODE bytedict,
    resolution            VARCHAR(128)            ENCODE bytedict,
    assignee_account_id   VARCHAR(128)            ENCODE zstd,
    assignee_name         VARCHAR(256)            ENCODE zstd,
    reporter_account_id   VARCHAR(128)            ENCODE zstd,
    reporter_name         VARCHAR(256)            ENCODE zstd,
    labels                VARCHAR(4096)           ENCODE zstd,
    components            VARCHAR(4096)           ENCODE zstd,
    fix_versions          VARCHAR(4096)           ENCODE zstd,
    parent_id             BIGINT                  ENCODE az64,
    parent_key            VARCHAR(64)             ENCODE zstd,
    sprint                VARCHAR(256)            ENCODE zstd,
    sprint_ids            VARCHAR(1024)           ENCODE zstd,
    story_points          DOUBLE PRECISION,
    created               TIMESTAMP               ENCODE az64,
    updated               TIMESTAMP      NOT NULL ENCODE az64,
    resolved              TIMESTAMP               ENCODE az64,
    due_date              DATE                    ENCODE az64,
    custom_fields         VARCHAR(MAX)            ENCODE zstd,
    PRIMARY KEY (issue_id)
)
DISTSTYLE KEY
DISTKEY (issue_id)
COMPOUND SORTKEY (updated, issue_id);
