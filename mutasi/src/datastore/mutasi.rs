//! The statement table `mutasi`: batch inserts that make redelivery harmless, and the
//! newest-first page.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use bukubesar_common::event::MutasiEvent;
use bukubesar_common::no_rekening::NoRekening;

use super::Datastore;

/// One statement line as served.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Row {
    pub transaksi_id: Uuid,
    pub tanggal_transaksi: DateTime<Utc>,
    pub no_rekening: NoRekening,
    pub jenis_transaksi: String,
    pub nominal: Decimal,
    pub saldo: Decimal,
    pub urutan_rekening: i64,
    pub no_rekening_lawan: Option<String>,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
}

/// Which lines of an account a page holds: strictly before transaction number `before` (the
/// previous page's cursor), from `dari` (inclusive) until `sampai` (exclusive), of one
/// `jenis_transaksi`; each when given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub before: Option<i64>,
    pub dari: Option<DateTime<Utc>>,
    pub sampai: Option<DateTime<Utc>>,
    pub jenis_transaksi: Option<&'static str>,
}

/// One line per (transaction, account): an event delivered again, or published again in
/// another format, adds nothing.
const INSERT: &str = "INSERT INTO mutasi (event_id, transaksi_id, tanggal_transaksi, no_rekening,
                         jenis_transaksi, nominal, saldo, urutan_rekening, no_rekening_lawan,
                         keterangan, referensi)
     SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::text[],
                          $6::numeric[], $7::numeric[], $8::bigint[], $9::text[], $10::text[],
                          $11::text[])
     ON CONFLICT (transaksi_id, no_rekening) DO NOTHING";

impl Datastore {
    /// Inserts every event in one statement (one transaction). Events already stored (same
    /// transaction and account) are skipped. Returns how many rows were new.
    pub async fn insert_events(&self, events: &[&MutasiEvent]) -> Result<u64, sqlx::Error> {
        let event_ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let transaksi_ids: Vec<Uuid> = events.iter().map(|e| e.transaksi_id).collect();
        let tanggal: Vec<DateTime<Utc>> = events.iter().map(|e| e.tanggal_transaksi).collect();
        let no_rekening: Vec<&NoRekening> = events.iter().map(|e| &e.no_rekening).collect();
        let jenis: Vec<&str> = events.iter().map(|e| e.jenis.code()).collect();
        let nominal: Vec<Decimal> = events.iter().map(|e| e.nominal).collect();
        let saldo: Vec<Decimal> = events.iter().map(|e| e.saldo).collect();
        let urutan: Vec<i64> = events.iter().map(|e| e.urutan_rekening).collect();
        let lawan: Vec<Option<&str>> = events
            .iter()
            .map(|e| e.no_rekening_lawan.as_ref().map(NoRekening::as_str))
            .collect();
        let keterangan: Vec<Option<&str>> =
            events.iter().map(|e| e.keterangan.as_deref()).collect();
        let referensi: Vec<Option<&str>> = events.iter().map(|e| e.referensi.as_deref()).collect();
        let inserted = sqlx::query(INSERT)
            .bind(&event_ids)
            .bind(&transaksi_ids)
            .bind(&tanggal)
            .bind(&no_rekening)
            .bind(&jenis)
            .bind(&nominal)
            .bind(&saldo)
            .bind(&urutan)
            .bind(&lawan)
            .bind(&keterangan)
            .bind(&referensi)
            .execute(&self.pool)
            .await?
            .rows_affected();
        debug_assert!(inserted <= events.len() as u64);
        Ok(inserted)
    }

    /// Up to `limit` lines of one account that pass `filter`, newest first.
    pub async fn page(
        &self,
        no_rekening: &NoRekening,
        filter: &Filter,
        limit: i64,
    ) -> Result<Vec<Row>, sqlx::Error> {
        sqlx::query_as(
            "SELECT transaksi_id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening, no_rekening_lawan, keterangan, referensi
               FROM mutasi
              WHERE no_rekening = $1
                AND ($2::bigint IS NULL OR urutan_rekening < $2)
                AND ($3::timestamptz IS NULL OR tanggal_transaksi >= $3)
                AND ($4::timestamptz IS NULL OR tanggal_transaksi < $4)
                AND ($5::text IS NULL OR jenis_transaksi = $5)
              ORDER BY urutan_rekening DESC
              LIMIT $6",
        )
        .bind(no_rekening)
        .bind(filter.before)
        .bind(filter.dari)
        .bind(filter.sampai)
        .bind(filter.jenis_transaksi)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }
}
