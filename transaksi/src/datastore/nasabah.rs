//! Customers and their credentials: registration, PIN hash lookup, and the lockout counters.

use std::time::Duration;

use super::Datastore;

/// A new customer, already validated, with the PIN already hashed.
#[derive(Debug)]
pub struct NasabahBaru<'a> {
    pub no_rekening: &'a str,
    pub nama: &'a str,
    pub nik: &'a str,
    pub no_hp: &'a str,
    pub pin_hash: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum InsertNasabahError {
    #[error("account number already in use")]
    NoRekeningTaken,
    #[error("nik already registered")]
    NikTaken,
    #[error("no_hp already registered")]
    NoHpTaken,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// What authentication needs to know about an account.
pub struct Kredensial {
    pub pin_hash: String,
    pub gagal_pin: i32,
    pub terkunci: bool,
}

impl std::fmt::Debug for Kredensial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kredensial")
            .field("pin_hash", &"<redacted>")
            .field("gagal_pin", &self.gagal_pin)
            .field("terkunci", &self.terkunci)
            .finish()
    }
}

impl Datastore {
    /// Inserts the customer and opens the account (saldo 0) in one transaction. Duplicate
    /// `nik`/`no_hp` are reported by the unique constraints, so two concurrent registrations
    /// with the same `nik` cannot both succeed.
    pub async fn insert_nasabah(&self, baru: &NasabahBaru<'_>) -> Result<(), InsertNasabahError> {
        let result = sqlx::query(
            "WITH n AS (
                 INSERT INTO nasabah (no_rekening, nama, nik, no_hp, pin_hash)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING no_rekening
             )
             INSERT INTO rekening (no_rekening) SELECT no_rekening FROM n",
        )
        .bind(baru.no_rekening)
        .bind(baru.nama)
        .bind(baru.nik)
        .bind(baru.no_hp)
        .bind(baru.pin_hash)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                Err(match db.constraint() {
                    Some("nasabah_nik_unik") => InsertNasabahError::NikTaken,
                    Some("nasabah_no_hp_unik") => InsertNasabahError::NoHpTaken,
                    _ => InsertNasabahError::NoRekeningTaken,
                })
            }
            Err(other) => Err(other.into()),
        }
    }

    pub async fn nasabah_exists(&self, no_rekening: &str) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM nasabah WHERE no_rekening = $1)")
            .bind(no_rekening)
            .fetch_one(&self.pool)
            .await
    }

    pub async fn kredensial(&self, no_rekening: &str) -> Result<Option<Kredensial>, sqlx::Error> {
        let row: Option<(String, i32, bool)> = sqlx::query_as(
            "SELECT pin_hash, gagal_pin, COALESCE(terkunci_sampai > now(), false)
               FROM nasabah WHERE no_rekening = $1",
        )
        .bind(no_rekening)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(pin_hash, gagal_pin, terkunci)| Kredensial {
            pin_hash,
            gagal_pin,
            terkunci,
        }))
    }

    /// Reserves one PIN-verification slot and returns the PIN hash to verify against, or
    /// `None` when the account is locked or all `max_failures` slots are taken. An expired lock
    /// is cleared here and the count starts again at this attempt.
    pub async fn reserve_pin_attempt(
        &self,
        no_rekening: &str,
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
        no_rekening: &str,
        max_failures: i32,
        lockout: Duration,
    ) -> Result<bool, sqlx::Error> {
        let (locked_here, locked): (bool, bool) = sqlx::query_as(
            "WITH kunci AS (
                 UPDATE nasabah
                    SET terkunci_sampai = now() + make_interval(secs => $3)
                  WHERE no_rekening = $1 AND gagal_pin >= $2
                    AND (terkunci_sampai IS NULL OR terkunci_sampai <= now())
              RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM kunci),
                    EXISTS (SELECT 1 FROM kunci)
                    OR EXISTS (SELECT 1 FROM nasabah
                                WHERE no_rekening = $1 AND terkunci_sampai > now())",
        )
        .bind(no_rekening)
        .bind(max_failures)
        .bind(lockout.as_secs_f64())
        .fetch_one(&self.pool)
        .await?;
        if locked_here {
            tracing::warn!(
                no_rekening,
                lockout_secs = lockout.as_secs(),
                "account locked"
            );
        }
        Ok(locked)
    }

    /// A correct PIN resets the count of consecutive wrong PINs.
    pub async fn reset_gagal_pin(&self, no_rekening: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE nasabah SET gagal_pin = 0 WHERE no_rekening = $1 AND gagal_pin <> 0")
            .bind(no_rekening)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}
