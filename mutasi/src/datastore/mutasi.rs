//! The statement table `mutasi`: batch inserts that make redelivery harmless, and the
//! newest-first page.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use bukubesar_common::event::MutasiEvent;
use bukubesar_common::no_rekening::NoRekening;

use super::Datastore;

/// One statement line as served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub tanggal_transaksi: DateTime<Utc>,
    pub no_rekening: NoRekening,
    pub jenis_transaksi: String,
    pub nominal: Decimal,
    pub saldo: Decimal,
    pub urutan_rekening: i64,
}

const INSERT: &str =
    "INSERT INTO mutasi (event_id, tanggal_transaksi, no_rekening, jenis_transaksi,
                         nominal, saldo, urutan_rekening)
     SELECT * FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[], $4::text[],
                          $5::numeric[], $6::numeric[], $7::bigint[])
     ON CONFLICT (event_id) DO NOTHING";

impl Datastore {
    /// Inserts every event in one statement (one transaction). Events already stored (same
    /// `event_id`) are skipped. Returns how many rows were new.
    pub async fn insert_events(&self, events: &[&MutasiEvent]) -> Result<u64, sqlx::Error> {
        let mut event_ids = Vec::with_capacity(events.len());
        let mut tanggal = Vec::with_capacity(events.len());
        let mut no_rekening = Vec::with_capacity(events.len());
        let mut jenis = Vec::with_capacity(events.len());
        let mut nominal = Vec::with_capacity(events.len());
        let mut saldo = Vec::with_capacity(events.len());
        let mut urutan = Vec::with_capacity(events.len());
        for event in events {
            event_ids.push(event.event_id);
            tanggal.push(event.tanggal_transaksi);
            no_rekening.push(&event.no_rekening);
            jenis.push(event.jenis.code().to_owned());
            nominal.push(event.nominal);
            saldo.push(event.saldo);
            urutan.push(event.urutan_rekening);
        }
        let inserted = sqlx::query(INSERT)
            .bind(&event_ids)
            .bind(&tanggal)
            .bind(&no_rekening)
            .bind(&jenis)
            .bind(&nominal)
            .bind(&saldo)
            .bind(&urutan)
            .execute(&self.pool)
            .await?
            .rows_affected();
        debug_assert!(inserted <= events.len() as u64);
        Ok(inserted)
    }

    /// Up to `limit` lines of one account, newest first, strictly before transaction number
    /// `before` when given (the cursor of the previous page).
    pub async fn page(
        &self,
        no_rekening: &NoRekening,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Row>, sqlx::Error> {
        let rows: Vec<(DateTime<Utc>, NoRekening, String, Decimal, Decimal, i64)> = sqlx::query_as(
            "SELECT tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening
               FROM mutasi
              WHERE no_rekening = $1 AND ($2::bigint IS NULL OR urutan_rekening < $2)
              ORDER BY urutan_rekening DESC
              LIMIT $3",
        )
        .bind(no_rekening)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo, urutan)| Row {
                    tanggal_transaksi,
                    no_rekening,
                    jenis_transaksi,
                    nominal,
                    saldo,
                    urutan_rekening: urutan,
                },
            )
            .collect())
    }
}
