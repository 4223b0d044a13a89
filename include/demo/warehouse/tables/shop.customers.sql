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
    PRIMARY KEY (customer_id)
)
DISTSTYLE KEY
DISTKEY (customer_id)
SORTKEY (customer_id);
