//! `GET /mutasi/{no_rekening}?limit=&cursor=`: the account's statement, newest first.

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use bukubesar_common::http::Authenticated;
use bukubesar_common::http::money;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use crate::app::AppError;
use crate::app::statement::{self, Permintaan};

#[derive(Debug, Serialize)]
pub struct MutasiResponse {
    pub mutasi: Vec<MutasiItem>,
    /// Pass as `?cursor=` for the next (older) page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MutasiItem {
    #[serde(serialize_with = "rfc3339")]
    pub tanggal_transaksi: DateTime<Utc>,
    pub no_rekening: String,
    /// `C` deposit (credit), `D` withdrawal (debit).
    pub jenis_transaksi: String,
    #[serde(serialize_with = "money::number")]
    pub nominal: Decimal,
    /// The balance right after this transaction.
    #[serde(serialize_with = "money::number")]
    pub saldo: Decimal,
}

fn rfc3339<S: serde::Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Micros, true))
}

pub async fn mutasi(
    State(state): State<AppState>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    Path(no_rekening): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<MutasiResponse>, ApiError> {
    let permintaan = query_parameters(query.as_deref())?;
    let halaman = statement::halaman(
        &state.datastore,
        &state.credentials,
        &who,
        &no_rekening,
        permintaan,
    )
    .await?;
    Ok(Json(MutasiResponse {
        mutasi: halaman
            .mutasi
            .into_iter()
            .map(|b| MutasiItem {
                tanggal_transaksi: b.tanggal_transaksi,
                no_rekening: b.no_rekening,
                jenis_transaksi: b.jenis_transaksi,
                nominal: b.nominal,
                saldo: b.saldo,
            })
            .collect(),
        next_cursor: halaman.next_cursor,
    }))
}

/// `limit` and `cursor` (each at most once); other parameters are ignored.
fn query_parameters(query: Option<&str>) -> Result<Permintaan<'_>, AppError> {
    let mut permintaan = Permintaan::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "limit" => &mut permintaan.limit,
            "cursor" => &mut permintaan.cursor,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(AppError::Invalid {
                field: if name == "limit" { "limit" } else { "cursor" },
                remark: "parameter hanya boleh dikirim sekali",
            });
        }
    }
    Ok(permintaan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_limit_and_cursor_once() {
        let p = query_parameters(Some("limit=5&cursor=9&x=1")).expect("ok");
        assert_eq!((p.limit, p.cursor), (Some("5"), Some("9")));
        assert!(query_parameters(Some("limit=5&limit=6")).is_err());
        let p = query_parameters(None).expect("ok");
        assert_eq!((p.limit, p.cursor), (None, None));
    }
}
