//! Everything transaksi says to PostgreSQL and Redis. Money statements are in [`posting`],
//! one transaction's legs in [`transaksi`],
//! customers in [`nasabah`] (credentials: `bukubesar_common::auth`), idempotency-key
//! housekeeping in [`idempotency`], the outbox (claiming the rows after the published-up-to
//! watermark, moving it, retention) in [`outbox`], appending to the Redis Stream in [`stream`].

pub mod idempotency;
pub mod nasabah;
pub mod outbox;
pub mod posting;
pub mod stream;
pub mod transaksi;

use bukubesar_common::auth::CredentialStore;
use bukubesar_common::no_rekening::NoRekening;
use rust_decimal::Decimal;
use sqlx::PgPool;

/// The SQL migrations in `migrations/transaksi`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/transaksi");

/// A handle on transaksi's database. Cheap to clone (the pool is reference-counted).
#[derive(Clone, Debug)]
pub struct Datastore {
    pool: PgPool,
}

impl Datastore {
    pub fn new(pool: PgPool) -> Self {
        Datastore { pool }
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
    pub async fn saldo(&self, no_rekening: &NoRekening) -> Result<Option<Decimal>, sqlx::Error> {
        sqlx::query_scalar("SELECT saldo FROM rekening WHERE no_rekening = $1")
            .bind(no_rekening)
            .fetch_optional(&self.pool)
            .await
    }
}
