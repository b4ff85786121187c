//! Customers and their credentials: registration, PIN hash lookup, and the lockout counters.

use bukubesar_common::no_rekening::NoRekening;
use tracing::Instrument;

use super::Datastore;

/// A new customer, already validated, with the PIN already hashed.
#[derive(Debug)]
pub struct NewNasabah<'a> {
    pub no_rekening: &'a NoRekening,
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

impl Datastore {
    /// Inserts the customer and opens the account (saldo 0) in one transaction. Duplicate
    /// `nik`/`no_hp` are reported by the unique constraints, so two concurrent registrations
    /// with the same `nik` cannot both succeed.
    pub async fn insert_nasabah(&self, nasabah: &NewNasabah<'_>) -> Result<(), InsertNasabahError> {
        let result = sqlx::query(
            "WITH n AS (
                 INSERT INTO nasabah (no_rekening, nama, nik, no_hp, pin_hash)
                 VALUES ($1, $2, $3, $4, $5)
                 RETURNING no_rekening
             )
             INSERT INTO rekening (no_rekening) SELECT no_rekening FROM n",
        )
        .bind(nasabah.no_rekening)
        .bind(nasabah.nama)
        .bind(nasabah.nik)
        .bind(nasabah.no_hp)
        .bind(nasabah.pin_hash)
        .execute(&self.pool)
        .instrument(tracing::info_span!(
            "db.insert_nasabah",
            otel.kind = "client",
            db.system.name = "postgresql"
        ))
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
}
