-- The relay no longer rewrites what it published (issue 19). Each outbox row records the id of
-- the transaction that wrote it (`writer_xid`); the relay publishes rows in (writer_xid,
-- urutan) order, only those written by transactions older than every transaction still
-- running (below `pg_snapshot_xmin(pg_current_snapshot())`, so no row can still appear before
-- them), and records how far it got in the one row of `relay_watermark`, updated once per
-- batch in the transaction that holds that row locked while the batch goes to Redis. Published
-- rows (at or below the watermark) are deleted later in bounded batches.
ALTER TABLE outbox ADD COLUMN writer_xid xid8;

-- Rows written before this migration: those already published sort below the watermark (they
-- are not sent again), those not yet published above it, in their old order (by urutan), and
-- below every row written from now on (real transaction ids start at 3).
UPDATE outbox SET writer_xid = CASE WHEN dipublikasikan_pada IS NULL THEN '2' ELSE '1' END::xid8;

ALTER TABLE outbox
    ALTER COLUMN writer_xid SET DEFAULT pg_current_xact_id(),
    ALTER COLUMN writer_xid SET NOT NULL;

-- A replica still running the previous version can no longer claim rows (the column is gone):
-- its relay fails and retries, and upgraded replicas publish its rows.
DROP INDEX outbox_belum_dipublikasikan;
DROP INDEX outbox_dipublikasikan;
ALTER TABLE outbox DROP COLUMN dipublikasikan_pada;

-- The relay's scan (from the watermark up), the backlog count and the sweep (from the bottom).
CREATE INDEX outbox_writer_xid ON outbox (writer_xid, urutan);

-- Published up to and including (writer_xid, urutan). One row.
CREATE TABLE relay_watermark (
    id           BOOLEAN     PRIMARY KEY DEFAULT TRUE CHECK (id),
    writer_xid   xid8        NOT NULL,
    urutan       BIGINT      NOT NULL,
    diperbarui_pada TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO relay_watermark (writer_xid, urutan) VALUES ('1', 9223372036854775807);
