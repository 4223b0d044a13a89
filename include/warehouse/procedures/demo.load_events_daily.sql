-- demo.load_events_daily: ELT step called by LoadToWarehouseOperator(mode="procedure") after staging.
-- Reads the staged rows from the session's temp table stage_events_daily, replaces the days
-- present in the batch. Redshift argument order (name, mode, type); translated for PostgreSQL.
CREATE OR REPLACE PROCEDURE demo.load_events_daily(min_amount IN DECIMAL(12,2))
AS $$
BEGIN
    DELETE FROM demo.events_daily
    USING (SELECT DISTINCT event_date FROM stage_events_daily) AS d
    WHERE demo.events_daily.event_date = d.event_date;

    INSERT INTO demo.events_daily (event_date, events, purchases, revenue, refreshed_at)
    SELECT event_date,
           COUNT(*),
           SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END),
           SUM(NVL(amount, 0)),
           GETDATE()
    FROM stage_events_daily
    WHERE NVL(amount, 0) >= min_amount
    GROUP BY event_date;
END;
$$ LANGUAGE plpgsql;
