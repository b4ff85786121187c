//! `GET /mutasi/{no_rekening}?limit=&cursor=&dari=&sampai=&jenis_transaksi=`: the account's
//! statement, newest first.

use axum::Json;
use axum::extract::{Extension, RawQuery, State};
use bukubesar_common::http::money;
use bukubesar_common::http::{Authenticated, ErrorBody, NoRekeningPath};
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::app::AppError;
use crate::app::context::App;
use crate::app::mutasi::PageRequest;

#[derive(Debug, Serialize, ToSchema)]
pub struct MutasiResponse {
    pub mutasi: Vec<MutasiItem>,
    /// Pass as `?cursor=` for the next (older) page; `null` on the last page.
    #[schema(pattern = "^[0-9]{1,18}$")]
    pub next_cursor: Option<String>,
}

/// One statement line: one account's side of one transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct MutasiItem {
    /// The transaction id (as answered by `/tabung`, `/tarik`, `/transfer`; both parties of a
    /// transfer see the same id).
    pub id: uuid::Uuid,
    #[serde(serialize_with = "rfc3339")]
    pub tanggal_transaksi: DateTime<Utc>,
    #[schema(value_type = String, pattern = "^[0-9]{10}$")]
    pub no_rekening: NoRekening,
    /// `C` credit (a deposit, an incoming transfer), `D` debit (a withdrawal, an outgoing
    /// transfer, its fee included).
    #[schema(pattern = "^[CD]$", example = "C")]
    pub jenis_transaksi: String,
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, exclusive_minimum = 0, example = 150000.50)]
    pub nominal: Decimal,
    /// The balance right after this transaction.
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, minimum = 0, example = 150000.50)]
    pub saldo: Decimal,
    /// A transfer's other party; absent for deposits and withdrawals.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9]{10}$")]
    pub no_rekening_lawan: Option<String>,
    /// A transfer's description, when the sender gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keterangan: Option<String>,
    /// A transfer's reference, when the sender gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referensi: Option<String>,
}

fn rfc3339<S: serde::Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// The authenticated customer's statement, newest first, in pages.
#[utoipa::path(
    get,
    path = "/mutasi/{no_rekening}",
    tag = "mutasi",
    params(
        ("no_rekening" = String, Path, description = "The customer's own account", pattern = "^[0-9]{10}$"),
        ("limit" = Option<i64>, Query, description = "Lines per page, 1 to 1000 (default 100)", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (with the same filters)", pattern = "^[0-9]{1,18}$"),
        ("dari" = Option<String>, Query, description = "Lines from this day on (UTC, inclusive)", format = Date),
        ("sampai" = Option<String>, Query, description = "Lines up to this day (UTC, inclusive)", format = Date),
        ("jenis_transaksi" = Option<String>, Query, description = "Only credits (`C`) or only debits (`D`)", pattern = "^[CD]$"),
    ),
    security(("basic" = [])),
    responses(
        (status = 200, description = "One page of the statement", body = MutasiResponse),
        (status = 400, description = "Unknown account, or an invalid limit, cursor, date or jenis_transaksi", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials, or the account is locked", body = ErrorBody),
        (status = 403, description = "Another customer's account", body = ErrorBody),
        (status = 429, description = "Too many failed authentications from this address (or across the service): wait `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until an attempt is accepted again"))),
        (status = 503, description = "A database cannot answer now", body = ErrorBody),
    )
)]
pub async fn mutasi(
    State(app): State<App>,
    Extension(Authenticated(who)): Extension<Authenticated>,
    NoRekeningPath(no_rekening): NoRekeningPath,
    RawQuery(query): RawQuery,
) -> Result<Json<MutasiResponse>, ApiError> {
    let request = query_parameters(query.as_deref())?;
    let page = crate::app::mutasi::page(&app, &who, &no_rekening, request).await?;
    Ok(Json(MutasiResponse {
        mutasi: page
            .mutasi
            .into_iter()
            .map(|row| MutasiItem {
                id: row.transaksi_id,
                tanggal_transaksi: row.tanggal_transaksi,
                no_rekening: row.no_rekening,
                jenis_transaksi: row.jenis_transaksi,
                nominal: row.nominal,
                saldo: row.saldo,
                no_rekening_lawan: row.no_rekening_lawan,
                keterangan: row.keterangan,
                referensi: row.referensi,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `limit`, `cursor`, `dari`, `sampai`, `jenis_transaksi` (each at most once); other
/// parameters are ignored.
fn query_parameters(query: Option<&str>) -> Result<PageRequest<'_>, AppError> {
    let mut request = PageRequest::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (field, slot) = match name {
            "limit" => ("limit", &mut request.limit),
            "cursor" => ("cursor", &mut request.cursor),
            "dari" => ("dari", &mut request.dari),
            "sampai" => ("sampai", &mut request.sampai),
            "jenis_transaksi" => ("jenis_transaksi", &mut request.jenis_transaksi),
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(AppError::Invalid {
                field,
                remark: "parameter hanya boleh dikirim sekali",
            });
        }
    }
    Ok(request)
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
        let p = query_parameters(Some("dari=2026-11-01&sampai=2026-11-30&jenis_transaksi=D"))
            .expect("ok");
        assert_eq!(
            (p.dari, p.sampai, p.jenis_transaksi),
            (Some("2026-11-01"), Some("2026-11-30"), Some("D"))
        );
        assert!(query_parameters(Some("jenis_transaksi=C&jenis_transaksi=D")).is_err());
    }
}
