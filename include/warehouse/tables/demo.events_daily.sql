-- demo.events_daily: per-day event totals, built by the stored procedure demo.load_events_daily
-- from the staged rows (stored-procedure ELT, as in the Redshift ETL post).
CREATE SCHEMA IF NOT EXISTS demo;

CREATE TABLE IF NOT EXISTS demo.events_daily (
    event_date    DATE           NOT NULL,
    events        BIGINT         NOT NULL,
    purchases     BIGINT         NOT NULL,
    revenue       DECIMAL(14,2)  NOT NULL,
    refreshed_at  TIMESTAMP      NOT NULL,
    PRIMARY KEY (event_date)
)
DISTSTYLE ALL
SORTKEY (event_date);
