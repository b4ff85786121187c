//! `GET /mutasi/{no_rekening}?limit=&cursor=`: the account's statement, newest first.

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

/// One statement line.
#[derive(Debug, Serialize, ToSchema)]
pub struct MutasiItem {
    #[serde(serialize_with = "rfc3339")]
    pub tanggal_transaksi: DateTime<Utc>,
    #[schema(value_type = String, pattern = "^[0-9]{10}$")]
    pub no_rekening: NoRekening,
    /// `C` deposit (credit), `D` withdrawal (debit).
    #[schema(pattern = "^[CD]$", example = "C")]
    pub jenis_transaksi: String,
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, exclusive_minimum = 0, example = 150000.50)]
    pub nominal: Decimal,
    /// The balance right after this transaction.
    #[serde(serialize_with = "money::number")]
    #[schema(value_type = f64, minimum = 0, example = 150000.50)]
    pub saldo: Decimal,
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
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page", pattern = "^[0-9]{1,18}$"),
    ),
    security(("basic" = [])),
    responses(
        (status = 200, description = "One page of the statement", body = MutasiResponse),
        (status = 400, description = "Unknown account, or an invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials, or the account is locked", body = ErrorBody),
        (status = 403, description = "Another customer's account", body = ErrorBody),
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
                tanggal_transaksi: row.tanggal_transaksi,
                no_rekening: row.no_rekening,
                jenis_transaksi: row.jenis_transaksi,
                nominal: row.nominal,
                saldo: row.saldo,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `limit` and `cursor` (each at most once); other parameters are ignored.
fn query_parameters(query: Option<&str>) -> Result<PageRequest<'_>, AppError> {
    let mut request = PageRequest::default();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "limit" => &mut request.limit,
            "cursor" => &mut request.cursor,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(AppError::Invalid {
                field: if name == "limit" { "limit" } else { "cursor" },
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
    }
}
