//! Retention of idempotency keys.

use super::Datastore;

/// Most rows one sweep deletes, so a sweep never holds locks for long.
const MAX_ROWS_PER_SWEEP: i64 = 10_000;

impl Datastore {
    /// Deletes up to [`MAX_ROWS_PER_SWEEP`] keys older than `retention_hours`; returns how many.
    pub async fn sweep_idempotency_keys(&self, retention_hours: u32) -> Result<u64, sqlx::Error> {
        sqlx::query(
            "DELETE FROM idempotensi WHERE ctid IN (
                 SELECT ctid FROM idempotensi
                  WHERE dibuat_pada < now() - make_interval(hours => $1)
                  LIMIT $2)",
        )
        .bind(i32::try_from(retention_hours).unwrap_or(i32::MAX))
        .bind(MAX_ROWS_PER_SWEEP)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected())
    }
}
