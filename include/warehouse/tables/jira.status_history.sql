-- jira.status_history: every status change of the issues in jira.issues, from the issue
-- changelogs (full changelogs are fetched when the search truncates them). Replaced as a whole
-- by each load; time in status = the next change's changed_at - this one's.
CREATE SCHEMA IF NOT EXISTS jira;

CREATE TABLE IF NOT EXISTS jira.status_history (
    issue_id           BIGINT        NOT NULL ENCODE az64,
    history_id         BIGINT        NOT NULL ENCODE az64,
    item_index         INTEGER       NOT NULL ENCODE az64,
    from_status        VARCHAR(128)           ENCODE bytedict,
    to_status          VARCHAR(128)           ENCODE bytedict,
    from_status_id     VARCHAR(32)            ENCODE zstd,
    to_status_id       VARCHAR(32)            ENCODE zstd,
    changed_at         TIMESTAMP     NOT NULL ENCODE az64,
    author_account_id  VARCHAR(128)           ENCODE zstd,
    author_name        VARCHAR(256)           ENCODE zstd,
    PRIMARY KEY (issue_id, history_id, item_index)
)
DISTSTYLE KEY
DISTKEY (issue_id)
COMPOUND SORTKEY (issue_id, changed_at);
