//! Reading a statement (the account's mutasi): only the account holder may read it (same rule
//! and remarks as transaksi), newest first, `limit` lines per page (default 100, at most
//! 1000), and a cursor (the transaction number of the last line served) for the next page.

use bukubesar_common::auth;
use bukubesar_common::no_rekening::NoRekening;

use super::AppError;
use super::context::App;
use crate::datastore::mutasi::Row;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// A page request as received (query parameters not yet checked).
#[derive(Debug, Default)]
pub struct PageRequest<'a> {
    pub limit: Option<&'a str>,
    pub cursor: Option<&'a str>,
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
    let before = parse_cursor(request.cursor)?;
    // One extra line tells whether an older page exists.
    let mut mutasi = app.datastore.page(no_rekening, before, limit + 1).await?;
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
    fn cursors() {
        assert_eq!(parse_cursor(None).ok(), Some(None));
        assert_eq!(parse_cursor(Some("42")).ok(), Some(Some(42)));
        for bad in ["0", "x", "", "-3", "1 "] {
            assert!(parse_cursor(Some(bad)).is_err(), "{bad}");
        }
    }
}
