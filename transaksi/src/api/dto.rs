//! Request and response bodies of the HTTP API.

use bukubesar_common::event::Jenis;
use bukubesar_common::http::money;
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::outcome::Posted;

/// Unknown fields are refused (400 naming the field), as in every request body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DaftarRequest {
    /// 1 to 100 characters after trimming, no control characters.
    #[schema(min_length = 1, max_length = 100, example = "Budi Santoso")]
    pub nama: String,
    /// NIK: exactly 16 digits; one account per NIK.
    #[schema(pattern = "^[0-9]{16}$", example = "3201010101010001")]
    pub nik: String,
    /// 10 to 15 digits, starting with 0 or +62; one account per number.
    #[schema(pattern = "^(0|\\+62)[0-9]{9,14}$", example = "081234567890")]
    pub no_hp: String,
    /// Exactly 6 digits. Stored only as an argon2 hash.
    #[schema(pattern = "^[0-9]{6}$", example = "123456", format = Password)]
    pub pin: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DaftarResponse {
    /// The new account number (10 digits); use it with the PIN for Basic authentication.
    #[schema(value_type = String, pattern = "^[0-9]{10}$", example = "4821937465")]
    pub no_rekening: NoRekening,
}

/// `/tabung` and `/tarik`. `nominal` is kept as its raw JSON text so it can be checked exactly
/// (a number, not a string; at most two decimals) without passing through a float. Unknown
/// fields are refused (400 naming the field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostingRequest {
    /// The authenticated customer's own account.
    #[schema(pattern = "^[0-9]{10}$", example = "4821937465")]
    pub no_rekening: String,
    /// A JSON number (not a string): more than 0, less than 10^18, at most 2 decimals.
    #[schema(value_type = f64, exclusive_minimum = 0, maximum = 999999999999999999.99, example = 150000.50)]
    pub nominal: Box<RawValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostingResponse {
    /// The balance right after this transaction (exact, two decimals).
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, minimum = 0, example = 150000.50)]
    pub saldo: Decimal,
    /// The transaction id (also the event id in the statement stream).
    pub id: Uuid,
    #[schema(value_type = String, pattern = "^[0-9]{10}$")]
    pub no_rekening: NoRekening,
    /// `C` for a deposit (tabung), `D` for a withdrawal (tarik).
    #[schema(value_type = String, pattern = "^[CD]$", example = "C")]
    pub jenis_transaksi: Jenis,
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, exclusive_minimum = 0, example = 150000.50)]
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
            nominal: posted.nominal.value(),
            tanggal_transaksi: posted.tanggal_transaksi,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SaldoResponse {
    #[schema(value_type = String, pattern = "^[0-9]{10}$")]
    pub no_rekening: NoRekening,
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, minimum = 0, example = 100000.50)]
    pub saldo: Decimal,
}
