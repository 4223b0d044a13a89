-- canary.events: synthetic events of the platform_smoke DAG, one day replaced per run.
CREATE SCHEMA IF NOT EXISTS canary;

CREATE TABLE IF NOT EXISTS canary.events (
    event_id     VARCHAR(32)    NOT NULL ENCODE zstd,
    event_day    DATE           NOT NULL ENCODE az64,
    event_type   VARCHAR(32)    NOT NULL ENCODE bytedict,
    user_id      INTEGER        NOT NULL ENCODE az64,
    amount       DECIMAL(12,2)  NOT NULL ENCODE az64,
    occurred_at  TIMESTAMP      NOT NULL ENCODE az64,
    PRIMARY KEY (event_id)
)
DISTSTYLE KEY
DISTKEY (event_id)
COMPOUND SORTKEY (event_day, occurred_at);
