//! Reading a statement (the account's mutasi): only the account holder may read it (same rule
//! and remarks as transaksi), newest first, `limit` lines per page (default 100, at most
//! 1000), and a cursor (the transaction number of the last line served) for the next page.
//! Filters: `dari` and `sampai` (dates `YYYY-MM-DD`, UTC days, both inclusive) and
//! `jenis_transaksi` (`C` or `D`); the next page's cursor is used with the same filters.

use bukubesar_common::auth;
use bukubesar_common::no_rekening::NoRekening;

use chrono::{DateTime, NaiveDate, Utc};

use super::AppError;
use super::context::App;
use crate::datastore::mutasi::{Filter, Row};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// A page request as received (query parameters not yet checked).
#[derive(Debug, Default)]
pub struct PageRequest<'a> {
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
    pub dari: Option<&'a str>,
    pub sampai: Option<&'a str>,
    pub jenis_transaksi: Option<&'a str>,
}

/// One page, newest first, and the cursor of the next (older) page if there is one.
#[derive(Debug)]
pub struct Page {
    pub mutasi: Vec<Row>,
    pub next_cursor: Option<String>,
}

pub fn parse_limit(text: Option<&str>) -> Result<i64, AppError> {
    let Some(text) = text else {
        return Ok(DEFAULT_LIMIT);
    };
    positive_integer(text)
        .filter(|n| *n <= MAX_LIMIT)
        .ok_or(AppError::Invalid {
            field: "limit",
            remark: "limit harus bilangan bulat 1 sampai 1000",
        })
}

pub fn parse_cursor(text: Option<&str>) -> Result<Option<i64>, AppError> {
    text.map(|t| {
        positive_integer(t).ok_or(AppError::Invalid {
            field: "cursor",
            remark: "cursor tidak valid; pakai next_cursor dari halaman sebelumnya",
        })
    })
    .transpose()
}

/// A range of instants, each end optional: `[from, until)`.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// `dari` and `sampai` as the half-open range of instants `[dari 00:00, sampai+1 00:00)` UTC.
pub fn parse_range(dari: Option<&str>, sampai: Option<&str>) -> Result<Range, AppError> {
    let day = |text: &str, field: &'static str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|_| text.len() == 10)
            .ok_or(AppError::Invalid {
                field,
                remark: "tanggal harus berformat YYYY-MM-DD",
            })
    };
    let dari = dari.map(|t| day(t, "dari")).transpose()?;
    let sampai = sampai.map(|t| day(t, "sampai")).transpose()?;
    if let (Some(dari), Some(sampai)) = (dari, sampai)
        && dari > sampai
    {
        return Err(AppError::Invalid {
            field: "sampai",
            remark: "sampai tidak boleh sebelum dari",
        });
    }
    let start = |date: NaiveDate| date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    Ok((
        dari.and_then(start),
        sampai.and_then(|d| d.succ_opt()).and_then(start),
    ))
}

/// `jenis_transaksi`: `C` or `D`.
pub fn parse_jenis(text: Option<&str>) -> Result<Option<&'static str>, AppError> {
    match text {
        None => Ok(None),
        Some("C") => Ok(Some("C")),
        Some("D") => Ok(Some("D")),
        Some(_) => Err(AppError::Invalid {
            field: "jenis_transaksi",
            remark: "jenis_transaksi harus C atau D",
        }),
    }
}

fn positive_integer(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| *n >= 1)
}

/// The statement page of `no_rekening` for the authenticated account `who`.
pub async fn page(
    app: &App,
    who: &NoRekening,
    no_rekening: &NoRekening,
    request: PageRequest<'_>,
) -> Result<Page, AppError> {
    auth::authorize(&app.credentials, who, no_rekening).await?;
    let limit = parse_limit(request.limit)?;
    let (dari, sampai) = parse_range(request.dari, request.sampai)?;
    let filter = Filter {
        before: parse_cursor(request.cursor)?,
        dari,
        sampai,
        jenis_transaksi: parse_jenis(request.jenis_transaksi)?,
    };
    // One extra line tells whether an older page exists.
    let mut mutasi = app.datastore.page(no_rekening, &filter, limit + 1).await?;
    let next_cursor = if mutasi.len() as i64 > limit {
        mutasi.truncate(limit as usize);
        mutasi.last().map(|b| b.urutan_rekening.to_string())
    } else {
        None
    };
    debug_assert!(
        mutasi
            .windows(2)
            .all(|w| w[0].urutan_rekening > w[1].urutan_rekening),
        "newest first, no repeats"
    );
    Ok(Page {
        mutasi,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).ok(), Some(100));
        assert_eq!(parse_limit(Some("1")).ok(), Some(1));
        assert_eq!(parse_limit(Some("1000")).ok(), Some(1000));
        for bad in ["0", "1001", "-1", "abc", "", "1.5", "99999999999999999999"] {
            assert!(parse_limit(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn date_ranges_and_jenis() {
        let (dari, sampai) = parse_range(Some("2026-11-30"), Some("2026-11-30")).expect("one day");
        assert_eq!(
            dari.map(|t| t.to_rfc3339()),
            Some("2026-11-30T00:00:00+00:00".into())
        );
        assert_eq!(
            sampai.map(|t| t.to_rfc3339()),
            Some("2026-12-01T00:00:00+00:00".into()),
            "sampai is inclusive: up to the next day's start"
        );
        assert_eq!(parse_range(None, None).ok(), Some((None, None)));
        for (dari, sampai) in [
            (Some("2026-12-01"), Some("2026-11-30")),
            (Some("2026-13-01"), None),
            (None, Some("30-11-2026")),
            (Some("2026-1-1"), None),
        ] {
            assert!(parse_range(dari, sampai).is_err(), "{dari:?} {sampai:?}");
        }
        assert_eq!(parse_jenis(Some("D")).ok(), Some(Some("D")));
        assert!(parse_jenis(Some("X")).is_err());
        assert!(parse_jenis(Some("d")).is_err());
    }

    #[test]
    fn cursors() {
        assert_eq!(parse_cursor(None).ok(), Some(None));
        assert_eq!(parse_cursor(Some("42")).ok(), Some(Some(42)));
        for bad in ["0", "x", "", "-3", "1 "] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
    }
}
