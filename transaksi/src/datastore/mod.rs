//! Everything transaksi says to PostgreSQL and Redis. Money statements are in [`posting`],
//! customers in [`nasabah`] (credentials: `bukubesar_common::auth`), idempotency-key
//! housekeeping in [`idempotensi`], the outbox and its publication to the stream in [`outbox`].

pub mod idempotensi;
pub mod nasabah;
pub mod outbox;
pub mod posting;

use std::sync::Arc;

use bukubesar_common::auth::CredentialStore;
use rust_decimal::Decimal;
use sqlx::PgPool;
use tokio::sync::Notify;

/// The SQL migrations in `migrations/transaksi`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/transaksi");

/// A handle on transaksi's database. Cheap to clone (the pool is reference-counted).
#[derive(Clone, Debug)]
pub struct Datastore {
    pool: PgPool,
    /// Signalled after a posting commits, so the relay publishes it at once.
    outbox_written: Arc<Notify>,
}

impl Datastore {
    pub fn new(pool: PgPool) -> Self {
        Datastore {
            pool,
            outbox_written: Arc::new(Notify::new()),
        }
    }

    /// Completes when a posting has committed since the last call (or right away if one
    /// did before anyone waited).
    pub async fn outbox_written(&self) {
        self.outbox_written.notified().await
    }

    /// The credential table, for authentication and the access rule.
    pub fn credentials(&self) -> CredentialStore {
        CredentialStore::new(self.pool.clone())
    }

    /// One round trip to the database, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// The balance of an account, or `None` when it is not registered.
    pub async fn saldo(&self, no_rekening: &str) -> Result<Option<Decimal>, sqlx::Error> {
        sqlx::query_scalar("SELECT saldo FROM rekening WHERE no_rekening = $1")
            .bind(no_rekening)
            .fetch_optional(&self.pool)
            .await
    }
}
