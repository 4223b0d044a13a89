-- demo.events: product events from the lake, merged by event_id (CDC deletes: op = 'D').
-- Example of the layout: one DDL file per table, named <schema>.<table>.sql, idempotent.
CREATE SCHEMA IF NOT EXISTS demo;

CREATE TABLE IF NOT EXISTS demo.events (
    event_id    BIGINT        NOT NULL ENCODE az64,
    user_id     VARCHAR(64)   NOT NULL ENCODE zstd,
    event_type  VARCHAR(32)   NOT NULL ENCODE bytedict,
    amount      DECIMAL(12,2)          ENCODE az64,
    event_ts    TIMESTAMP     NOT NULL ENCODE az64,
    event_date  DATE          NOT NULL ENCODE az64,
    updated_at  TIMESTAMP     NOT NULL ENCODE az64,
    seq         BIGINT                 ENCODE az64,  -- change order (order_by): late changes never overwrite a row
    loaded_at   TIMESTAMP     NOT NULL DEFAULT GETDATE() ENCODE az64,
    PRIMARY KEY (event_id)
)
DISTSTYLE KEY
DISTKEY (event_id)
COMPOUND SORTKEY (event_date, event_id);
