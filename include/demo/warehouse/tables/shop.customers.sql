-- shop.customers: source-aligned copy of shop.public.customers (CDC, merged by key).
CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.customers (
    customer_id    BIGINT         NOT NULL ENCODE az64,
    name           VARCHAR(256)            ENCODE zstd,
    email          VARCHAR(256)            ENCODE zstd,
    city           VARCHAR(128)            ENCODE zstd,
    credit_limit   DECIMAL(12,2)           ENCODE az64,
    dms_commit_ts  VARCHAR(32)             ENCODE zstd,
    change_seq     VARCHAR(64)             ENCODE zstd,
    _cdc_op        VARCHAR(1)              ENCODE zstd,  -- last operation applied (I/U)
    _cdc_seq       VARCHAR(256)   NOT NULL ENCODE zstd,  -- change order of the row: late changes never overwrite it
    PRIMARY KEY (customer_id)
)
DISTSTYLE KEY
DISTKEY (customer_id)
SORTKEY (customer_id);
