-- shop.payments_history: every change of shop.public.payments (historical storage mode),
-- with the operation (_cdc_op: I/U/D) and the change order (_cdc_seq).
CREATE SCHEMA IF NOT EXISTS shop;

CREATE TABLE IF NOT EXISTS shop.payments_history (
    payment_id     BIGINT         NOT NULL ENCODE az64,
    order_id       BIGINT                  ENCODE az64,
    method         VARCHAR(32)             ENCODE bytedict,
    amount         DECIMAL(12,2)           ENCODE az64,
    paid_at        TIMESTAMP               ENCODE az64,
    dms_commit_ts  VARCHAR(32)             ENCODE zstd,
    change_seq     VARCHAR(64)             ENCODE zstd,
    _cdc_op        CHAR(1)        NOT NULL ENCODE bytedict,
    _cdc_seq       VARCHAR(256)   NOT NULL ENCODE zstd,
    PRIMARY KEY (payment_id, _cdc_seq)
)
DISTSTYLE KEY
DISTKEY (payment_id)
COMPOUND SORTKEY (payment_id, _cdc_seq);
