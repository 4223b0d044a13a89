-- shop.order_items: source-aligned copy of shop.public.order_items (composite key).
CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.order_items (
    order_id       BIGINT         NOT NULL ENCODE az64,
    line_no        INTEGER        NOT NULL ENCODE az64,
    product        VARCHAR(128)            ENCODE zstd,
    quantity       INTEGER                 ENCODE az64,
    unit_price     DECIMAL(10,2)           ENCODE az64,
    dms_commit_ts  VARCHAR(32)             ENCODE zstd,
    change_seq     VARCHAR(64)             ENCODE zstd,
    PRIMARY KEY (order_id, line_no)
)
DISTSTYLE KEY
DISTKEY (order_id)
COMPOUND SORTKEY (order_id, line_no);
