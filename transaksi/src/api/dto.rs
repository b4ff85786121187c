//! Request and response bodies of the HTTP API.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::datastore::posting::{Jenis, Posted};
use bukubesar_common::http::money;

#[derive(Debug, Deserialize)]
pub struct DaftarRequest {
    pub nama: String,
    pub nik: String,
    pub no_hp: String,
    pub pin: String,
}

#[derive(Debug, Serialize)]
pub struct DaftarResponse {
    pub no_rekening: String,
}

/// `/tabung` and `/tarik`. `nominal` is kept as its raw JSON text so it can be checked exactly
/// (a number, not a string; at most two decimals) without passing through a float.
#[derive(Debug, Deserialize)]
pub struct PostingRequest {
    pub no_rekening: String,
    pub nominal: Box<RawValue>,
}

#[derive(Debug, Serialize)]
pub struct PostingResponse {
    /// The balance right after this transaction.
    #[serde(serialize_with = "money::number")]
    pub saldo: Decimal,
    /// The transaction id (also the event id in the statement stream).
    pub id: Uuid,
    pub no_rekening: String,
    pub jenis_transaksi: Jenis,
    #[serde(serialize_with = "money::number")]
    pub nominal: Decimal,
    pub tanggal_transaksi: DateTime<Utc>,
}

impl From<Posted> for PostingResponse {
    fn from(posted: Posted) -> Self {
        PostingResponse {
            saldo: posted.saldo,
            id: posted.id,
            no_rekening: posted.no_rekening,
            jenis_transaksi: posted.jenis,
            nominal: posted.nominal,
            tanggal_transaksi: posted.tanggal_transaksi,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SaldoResponse {
    pub no_rekening: String,
    #[serde(serialize_with = "money::number")]
    pub saldo: Decimal,
}
