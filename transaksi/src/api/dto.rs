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

use crate::app::outcome::{Posted, Transferred};
use crate::app::transaksi::TransaksiView;

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

/// `/transfer`. `nominal` is kept as its raw JSON text, as for `/tabung`. Unknown fields are
/// refused (400 naming the field).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The authenticated customer's own account: the source.
    #[schema(pattern = "^[0-9]{10}$", example = "4821937465")]
    pub no_rekening_asal: String,
    /// Another registered account: the destination.
    #[schema(pattern = "^[0-9]{10}$", example = "5829301748")]
    pub no_rekening_tujuan: String,
    /// A JSON number (not a string): more than 0, less than 10^18, at most 2 decimals. The
    /// destination receives exactly this; the source pays it plus the fee.
    #[schema(value_type = f64, exclusive_minimum = 0, maximum = 999999999999999999.99, example = 250000.00)]
    pub nominal: Box<RawValue>,
    /// A description shown on both statements: 1 to 140 characters, no control characters.
    #[schema(min_length = 1, max_length = 140, example = "bayar kos Desember")]
    pub keterangan: Option<String>,
    /// The customer's reference (an invoice number): 1 to 64 characters, no control
    /// characters.
    #[schema(min_length = 1, max_length = 64, example = "INV-2026-0012")]
    pub referensi: Option<String>,
}

/// The answer to a transfer, shaped like the deposit and withdrawal answers: the source's
/// new saldo and the transaction id, with the transfer's own fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferResponse {
    /// The source's balance right after the transfer (exact, two decimals).
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, minimum = 0, example = 747500.00)]
    pub saldo: Decimal,
    /// The transaction id (`GET /transaksi/{id}`; on both statements).
    pub id: Uuid,
    /// The source.
    #[schema(value_type = String, pattern = "^[0-9]{10}$")]
    pub no_rekening: NoRekening,
    /// Always `D`: the source is debited.
    #[schema(value_type = String, pattern = "^D$", example = "D")]
    pub jenis_transaksi: Jenis,
    /// What the destination received.
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, exclusive_minimum = 0, example = 250000.00)]
    pub nominal: Decimal,
    /// The fee (0 when none is configured); the source paid `nominal + biaya`.
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, minimum = 0, example = 2500.00)]
    pub biaya: Decimal,
    #[schema(value_type = String, pattern = "^[0-9]{10}$")]
    pub no_rekening_tujuan: NoRekening,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
    pub tanggal_transaksi: DateTime<Utc>,
}

impl From<Transferred> for TransferResponse {
    fn from(t: Transferred) -> Self {
        TransferResponse {
            saldo: t.asal.saldo,
            id: t.id,
            no_rekening: t.asal.no_rekening,
            jenis_transaksi: Jenis::DEBIT,
            nominal: t.nominal.value(),
            biaya: t.biaya,
            no_rekening_tujuan: t.tujuan.no_rekening,
            keterangan: t.keterangan,
            referensi: t.referensi,
            tanggal_transaksi: t.tanggal_transaksi,
        }
    }
}

/// One transaction as a party sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransaksiResponse {
    pub id: Uuid,
    pub tanggal_transaksi: DateTime<Utc>,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
    /// Every leg; debits equal credits.
    pub entri: Vec<EntriResponse>,
}

/// One leg (entry) of a transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntriResponse {
    /// A customer's account number, or a system account's code (`KAS`, `PENDAPATAN_BIAYA`).
    #[schema(example = "4821937465")]
    pub akun: String,
    /// True for the bank's own accounts.
    pub sistem: bool,
    /// `D` debit, `C` credit.
    #[schema(value_type = String, pattern = "^[CD]$", example = "D")]
    pub jenis_transaksi: Jenis,
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, exclusive_minimum = 0, example = 250000.00)]
    pub nominal: Decimal,
    /// The caller's own balance right after this transaction; absent on others' legs.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "money::optional"
    )]
    #[schema(value_type = Option<f64>, minimum = 0)]
    pub saldo: Option<Decimal>,
}

impl From<TransaksiView> for TransaksiResponse {
    fn from(view: TransaksiView) -> Self {
        TransaksiResponse {
            id: view.id,
            tanggal_transaksi: view.tanggal_transaksi,
            keterangan: view.keterangan,
            referensi: view.referensi,
            entri: view
                .legs
                .into_iter()
                .map(|leg| EntriResponse {
                    akun: leg.akun,
                    sistem: leg.sistem,
                    jenis_transaksi: leg.jenis,
                    nominal: leg.nominal,
                    saldo: leg.saldo,
                })
                .collect(),
        }
    }
}
