//! Everything mutasi says to PostgreSQL (the statement table: [`mutasi`]) and to Redis
//! ([`stream`]).

pub mod mutasi;
pub mod stream;

use sqlx::PgPool;

/// The SQL migrations in `migrations/mutasi`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/mutasi");

/// A handle on mutasi's database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Datastore {
    pool: PgPool,
}

impl Datastore {
    pub fn new(pool: PgPool) -> Self {
        Datastore { pool }
    }

    /// One round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
