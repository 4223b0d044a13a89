-- shop.orders: source-aligned copy of shop.public.orders (CDC, merged by key).
CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.orders (
    order_id       BIGINT         NOT NULL ENCODE az64,
    customer_id    BIGINT                  ENCODE az64,
    order_date     DATE                    ENCODE az64,
    status         VARCHAR(32)             ENCODE bytedict,
    amount         DECIMAL(12,2)           ENCODE az64,
    dms_commit_ts  VARCHAR(32)             ENCODE zstd,
    change_seq     VARCHAR(64)             ENCODE zstd,
    PRIMARY KEY (order_id)
)
DISTSTYLE KEY
DISTKEY (order_id)
COMPOUND SORTKEY (order_date, order_id);
