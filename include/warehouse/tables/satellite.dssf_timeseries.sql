-- satellite.dssf_timeseries: surface shortwave radiation at the catalogue points, one row per
-- point per 15-minute slot present in the product (LSA SAF MDSSFTD). NULL = no value in the
-- product (fill), never zero. One day replaced per run of satellite_timeseries.
CREATE SCHEMA IF NOT EXISTS satellite;

CREATE TABLE IF NOT EXISTS satellite.dssf_timeseries (
    site_id           VARCHAR(64)       NOT NULL ENCODE zstd,
    obs_time          TIMESTAMP         NOT NULL ENCODE az64,   -- slot start (time_coverage_start), UTC
    obs_date          DATE              NOT NULL ENCODE az64,
    dssf_tot          DOUBLE PRECISION           ENCODE raw,    -- W/m2
    fraction_diffuse  DOUBLE PRECISION           ENCODE raw,    -- 0-1
    quality_flag      INTEGER                    ENCODE az64,
    source_file       VARCHAR(128)      NOT NULL ENCODE zstd,
    PRIMARY KEY (site_id, obs_time)
)
DISTSTYLE KEY
DISTKEY (site_id)
COMPOUND SORTKEY (site_id, obs_time);
