//! One transaction as a party to it may see it (`GET /transaksi/{id}`): every leg, its own
//! with the balance right after it, the other customer's and the bank's without any balance.
//! Someone who is not a party gets the answer of a transaction that does not exist, so ids
//! reveal nothing.

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::AppError;
use super::context::App;
use crate::datastore::transaksi::LegRow;

/// One leg as the caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegView {
    /// A customer's account number, or a system account's code (`KAS`, `PENDAPATAN_BIAYA`).
    pub akun: String,
    /// True for the bank's own accounts.
    pub sistem: bool,
    pub jenis: Jenis,
    pub nominal: Decimal,
    /// Only on the caller's own leg.
    pub saldo: Option<Decimal>,
    pub urutan_rekening: Option<i64>,
}

/// A transaction as the caller may see it.
#[derive(Debug, Clone)]
pub struct TransaksiView {
    pub id: Uuid,
    pub tanggal_transaksi: DateTime<Utc>,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
    pub legs: Vec<LegView>,
}

/// Parses the path's id: a UUID, else 400.
pub fn parse_id(text: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(text).map_err(|_| AppError::invalid("id", "id transaksi tidak valid"))
}

/// Transaction `id` for `who`, who must hold one of its customer legs.
pub async fn lookup(app: &App, who: &NoRekening, id: Uuid) -> Result<TransaksiView, AppError> {
    let rows = app.datastore.legs(id).await?;
    let party = rows
        .iter()
        .any(|row| row.no_rekening.as_deref() == Some(who.as_str()));
    let Some(first) = rows.first().filter(|_| party) else {
        return Err(AppError::TransaksiNotFound);
    };
    let (tanggal_transaksi, keterangan, referensi) = (
        first.tanggal_transaksi,
        first.keterangan.clone(),
        first.referensi.clone(),
    );
    let legs = rows
        .into_iter()
        .map(|row| view(row, who))
        .collect::<Result<_, _>>()?;
    Ok(TransaksiView {
        id,
        tanggal_transaksi,
        keterangan,
        referensi,
        legs,
    })
}

fn view(row: LegRow, who: &NoRekening) -> Result<LegView, AppError> {
    let jenis = Jenis::from_code(&row.jenis_transaksi).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "journal leg with jenis_transaksi {:?}",
            row.jenis_transaksi
        ))
    })?;
    let own = row.no_rekening.as_deref() == Some(who.as_str());
    let (akun, sistem) = match (row.no_rekening, row.akun_sistem) {
        (Some(no_rekening), _) => (no_rekening, false),
        (None, Some(kode)) => (kode, true),
        (None, None) => {
            return Err(AppError::Internal(anyhow::anyhow!(
                "journal leg without an account"
            )));
        }
    };
    Ok(LegView {
        akun,
        sistem,
        jenis,
        nominal: row.nominal,
        saldo: row.saldo.filter(|_| own),
        urutan_rekening: row.urutan_rekening.filter(|_| own),
    })
}
