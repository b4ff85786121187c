//! Reading one transaction's legs from the journal.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::Datastore;

/// A journal leg as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LegRow {
    pub no_rekening: Option<String>,
    pub akun_sistem: Option<String>,
    pub jenis_transaksi: String,
    pub nominal: Decimal,
    pub saldo: Option<Decimal>,
    pub urutan_rekening: Option<i64>,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
    pub tanggal_transaksi: DateTime<Utc>,
}

impl Datastore {
    /// The legs of transaction `id` (none when there is no such transaction): customers'
    /// first, debits before credits.
    pub async fn legs(&self, id: Uuid) -> Result<Vec<LegRow>, sqlx::Error> {
        sqlx::query_as(
            // Customer legs and system legs each through their own (partial) index.
            "SELECT no_rekening, akun_sistem, jenis_transaksi, nominal, saldo, urutan_rekening,
                    keterangan, referensi, tanggal_transaksi
               FROM (SELECT * FROM jurnal WHERE transaksi_id = $1 AND no_rekening IS NOT NULL
                     UNION ALL
                     SELECT * FROM jurnal WHERE transaksi_id = $1 AND akun_sistem IS NOT NULL)
                    AS legs
              ORDER BY no_rekening IS NULL, jenis_transaksi DESC, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
    }
}
