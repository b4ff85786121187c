//! The SQL on the credential table `nasabah` (transaksi's database): the PIN hash, the count of
//! wrong PINs and the lock. Columns read: `no_rekening`, `pin_hash`, `gagal_pin`,
//! `terkunci_sampai`; columns written: `gagal_pin`, `terkunci_sampai`. Exactly these are
//! granted to the role `bukubesar_autentikasi`, which mutasi's database user is a member of.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::PgPool;

use crate::no_rekening::NoRekening;

/// A handle on the credential table. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CredentialStore {
    pool: PgPool,
}

/// What authentication needs to know about an account (`gagal_pin` is the column: wrong PINs
/// in a row).
#[derive(Clone)]
pub struct Credential {
    pub pin_hash: String,
    pub gagal_pin: i32,
    pub locked: bool,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("pin_hash", &"<redacted>")
            .field("gagal_pin", &self.gagal_pin)
            .field("locked", &self.locked)
            .finish()
    }
}

impl CredentialStore {
    pub fn new(pool: PgPool) -> Self {
        CredentialStore { pool }
    }

    /// Checks that the table is reachable with the privileges authentication needs (for
    /// `/readyz`): every column read, without reading a row.
    pub async fn probe(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT no_rekening, pin_hash, gagal_pin, terkunci_sampai FROM nasabah LIMIT 0")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn nasabah_exists(&self, no_rekening: &NoRekening) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM nasabah WHERE no_rekening = $1)")
            .bind(no_rekening)
            .fetch_one(&self.pool)
            .await
    }

    /// The credentials of every registered account among `no_rekening`, in one query.
    pub async fn credentials(
        &self,
        no_rekening: &[&NoRekening],
    ) -> Result<HashMap<NoRekening, Credential>, sqlx::Error> {
        let rows: Vec<(NoRekening, String, i32, bool)> = sqlx::query_as(
            "SELECT no_rekening, pin_hash, gagal_pin, COALESCE(terkunci_sampai > now(), false)
               FROM nasabah WHERE no_rekening = ANY($1::text[])",
        )
        .bind(no_rekening)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(no_rekening, pin_hash, gagal_pin, locked)| {
                (
                    no_rekening,
                    Credential {
                        pin_hash,
                        gagal_pin,
                        locked,
                    },
                )
            })
            .collect())
    }

    /// Reserves one PIN-verification slot and returns the PIN hash to verify against, or
    /// `None` when the account is locked or all `max_failures` slots are taken. An expired lock
    /// is cleared here and the count starts again at this attempt.
    pub async fn reserve_pin_attempt(
        &self,
        no_rekening: &NoRekening,
        max_failures: i32,
    ) -> Result<Option<String>, sqlx::Error> {
        sqlx::query_scalar(
            "UPDATE nasabah
                SET gagal_pin = CASE WHEN terkunci_sampai <= now() THEN 1 ELSE gagal_pin + 1 END,
                    terkunci_sampai = CASE WHEN terkunci_sampai <= now() THEN NULL
                                           ELSE terkunci_sampai END
              WHERE no_rekening = $1
                AND ((terkunci_sampai IS NULL AND gagal_pin < $2) OR terkunci_sampai <= now())
          RETURNING pin_hash",
        )
        .bind(no_rekening)
        .bind(max_failures)
        .fetch_optional(&self.pool)
        .await
    }

    /// Locks the account for `lockout` when its failures have reached `max_failures` and it is
    /// not locked yet. Returns whether the account is locked after this call (by this call or
    /// by a concurrent one).
    pub async fn lock_if_exhausted(
        &self,
        no_rekening: &NoRekening,
        max_failures: i32,
        lockout: Duration,
    ) -> Result<bool, sqlx::Error> {
        let (locked_here, locked): (bool, bool) = sqlx::query_as(
            "WITH locked_now AS (
                 UPDATE nasabah
                    SET terkunci_sampai = now() + make_interval(secs => $3)
                  WHERE no_rekening = $1 AND gagal_pin >= $2
                    AND (terkunci_sampai IS NULL OR terkunci_sampai <= now())
              RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM locked_now),
                    EXISTS (SELECT 1 FROM locked_now)
                    OR EXISTS (SELECT 1 FROM nasabah
                                WHERE no_rekening = $1 AND terkunci_sampai > now())",
        )
        .bind(no_rekening)
        .bind(max_failures)
        .bind(lockout.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        if locked_here {
            metrics::counter!(crate::metrics::AUTH_LOCKOUTS).increment(1);
            tracing::warn!(
                no_rekening = no_rekening.as_str(),
                lockout_secs = lockout.as_secs(),
                "account locked"
            );
        }
        Ok(locked)
    }

    /// A correct PIN resets the count of consecutive wrong PINs.
    pub async fn reset_gagal_pin(&self, no_rekening: &NoRekening) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE nasabah SET gagal_pin = 0 WHERE no_rekening = $1 AND gagal_pin <> 0")
            .bind(no_rekening)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
