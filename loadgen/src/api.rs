//! The API calls of setup and verification (not the hot path), over reqwest: register, read a
//! balance, deposit, read a statement page. Idempotent reads are retried on transport errors
//! and 5xx; a deposit is retried only with the same Idempotency-Key.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ops::{Jenis, decimal_of};
use crate::statement::Line;

/// Attempts at a call before giving up (transport errors and 5xx only).
const ATTEMPTS: u32 = 4;
/// Pause before the first retry; doubled each time.
const FIRST_RETRY_PAUSE: Duration = Duration::from_millis(200);
/// Longest wait for one answer: registration waits for argon2 behind other registrations.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A registered account and its PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub no_rekening: String,
    pub pin: String,
}

pub struct Api {
    client: reqwest::Client,
    transaksi: String,
    mutasi: String,
    /// transaksi's private metrics listener (`--metrics-addr`), where `/metrics` is served.
    transaksi_metrics: String,
}

/// The answer to a registration.
pub enum Daftar {
    Registered(Account),
    /// The NIK or phone number is taken (by an earlier run): try other ones.
    Taken,
}

#[derive(Deserialize)]
struct ErrorBody {
    remark: String,
    field: Option<String>,
}

#[derive(Deserialize)]
struct DaftarBody {
    no_rekening: String,
}

#[derive(Deserialize)]
struct SaldoBody<'a> {
    #[serde(borrow)]
    saldo: &'a RawValue,
}

#[derive(Deserialize)]
struct MutasiBody<'a> {
    #[serde(borrow)]
    mutasi: Vec<MutasiItem<'a>>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct MutasiItem<'a> {
    jenis_transaksi: &'a str,
    #[serde(borrow)]
    nominal: &'a RawValue,
    #[serde(borrow)]
    saldo: &'a RawValue,
}

/// One page of a statement, newest first.
pub struct Page {
    pub lines: Vec<Line>,
    pub next_cursor: Option<String>,
}

impl Api {
    pub fn new(transaksi: &str, mutasi: &str, transaksi_metrics: &str) -> anyhow::Result<Api> {
        let client = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .pool_max_idle_per_host(64)
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            client,
            transaksi: transaksi.trim_end_matches('/').to_owned(),
            mutasi: mutasi.trim_end_matches('/').to_owned(),
            transaksi_metrics: transaksi_metrics.trim_end_matches('/').to_owned(),
        })
    }

    /// `POST /daftar`.
    pub async fn daftar(
        &self,
        nama: &str,
        nik: &str,
        no_hp: &str,
        pin: &str,
    ) -> anyhow::Result<Daftar> {
        let body = serde_json::json!({ "nama": nama, "nik": nik, "no_hp": no_hp, "pin": pin });
        let (status, bytes) = self
            .call(|| {
                self.client
                    .post(format!("{}/daftar", self.transaksi))
                    .json(&body)
            })
            .await
            .context("POST /daftar")?;
        match status {
            StatusCode::OK => {
                let answer: DaftarBody =
                    serde_json::from_slice(&bytes).context("reading the /daftar answer")?;
                Ok(Daftar::Registered(Account {
                    no_rekening: answer.no_rekening,
                    pin: pin.to_owned(),
                }))
            }
            StatusCode::BAD_REQUEST => {
                let error: ErrorBody = serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading the /daftar refusal {}", lossy(&bytes)))?;
                match error.field.as_deref() {
                    Some("nik" | "no_hp") if error.remark.ends_with("sudah terdaftar") => {
                        Ok(Daftar::Taken)
                    }
                    _ => bail!("POST /daftar refused: {}", error.remark),
                }
            }
            other => bail!("POST /daftar answered {other}: {}", lossy(&bytes)),
        }
    }

    /// `GET /saldo/{no_rekening}`.
    pub async fn saldo(&self, account: &Account) -> anyhow::Result<Decimal> {
        let url = format!("{}/saldo/{}", self.transaksi, account.no_rekening);
        let what = format!("GET /saldo/{}", account.no_rekening);
        let (status, bytes) = self
            .call(|| {
                self.client
                    .get(&url)
                    .basic_auth(&account.no_rekening, Some(&account.pin))
            })
            .await
            .with_context(|| what.clone())?;
        saldo_of(&what, status, &bytes)
    }

    /// `POST /tabung` with an Idempotency-Key, so a retry cannot post twice. Returns the new
    /// balance.
    pub async fn tabung(
        &self,
        account: &Account,
        nominal: Decimal,
        idempotency_key: &str,
    ) -> anyhow::Result<Decimal> {
        let body = format!(
            "{{\"no_rekening\":\"{}\",\"nominal\":{}}}",
            account.no_rekening, nominal
        );
        let what = format!("POST /tabung {nominal} to {}", account.no_rekening);
        let (status, bytes) = self
            .call(|| {
                self.client
                    .post(format!("{}/tabung", self.transaksi))
                    .basic_auth(&account.no_rekening, Some(&account.pin))
                    .header("content-type", "application/json")
                    .header("idempotency-key", idempotency_key)
                    .body(body.clone())
            })
            .await
            .with_context(|| what.clone())?;
        saldo_of(&what, status, &bytes)
    }

    /// `GET /mutasi/{no_rekening}?limit=&cursor=`: one page, newest first.
    pub async fn mutasi_page(
        &self,
        account: &Account,
        limit: usize,
        cursor: Option<&str>,
    ) -> anyhow::Result<Page> {
        let mut url = format!(
            "{}/mutasi/{}?limit={limit}",
            self.mutasi, account.no_rekening
        );
        if let Some(cursor) = cursor {
            url.push_str("&cursor=");
            url.push_str(cursor);
        }
        let (status, bytes) = self
            .call(|| {
                self.client
                    .get(&url)
                    .basic_auth(&account.no_rekening, Some(&account.pin))
            })
            .await
            .with_context(|| format!("GET /mutasi/{}", account.no_rekening))?;
        if status != StatusCode::OK {
            bail!(
                "GET /mutasi/{} answered {status}: {}",
                account.no_rekening,
                lossy(&bytes)
            );
        }
        parse_mutasi_page(&bytes)
    }

    /// How many argon2 PIN verifications transaksi has run (`GET /metrics` on its metrics
    /// listener, `--transaksi-metrics`; the count of
    /// `auth_pin_verify_duration_seconds`): compared before and after the load, it shows
    /// credential-cache misses that would otherwise pass for slow postings. `None` when the
    /// metrics cannot be read.
    pub async fn argon2_verifications(&self) -> Option<u64> {
        let response = self
            .client
            .get(format!("{}/metrics", self.transaksi_metrics))
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        prometheus_count(&response.text().await.ok()?, PIN_VERIFY_COUNT)
    }

    /// Sends the request built by `request` until it gets an answer that is not a 5xx, at
    /// most [`ATTEMPTS`] times.
    async fn call(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> anyhow::Result<(StatusCode, bytes::Bytes)> {
        let mut pause = FIRST_RETRY_PAUSE;
        let mut attempt = 1;
        loop {
            let result = async {
                let response = request().send().await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.bytes().await?))
            }
            .await;
            let failure = match result {
                Ok((status, bytes)) if !status.is_server_error() => return Ok((status, bytes)),
                Ok((status, bytes)) => anyhow!("answered {status}: {}", lossy(&bytes)),
                Err(error) => anyhow::Error::new(error),
            };
            if attempt >= ATTEMPTS {
                return Err(failure.context(format!("after {ATTEMPTS} attempts")));
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
            attempt += 1;
        }
    }
}

const PIN_VERIFY_COUNT: &str = "auth_pin_verify_duration_seconds_count";

/// The sum of the samples named `name` (any labels) in a Prometheus text exposition.
pub fn prometheus_count(exposition: &str, name: &str) -> Option<u64> {
    let mut total = None;
    for line in exposition.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let value = match rest.chars().next() {
            Some('{') => rest.rsplit_once('}').map(|(_, value)| value),
            Some(' ') => Some(rest),
            _ => None,
        };
        if let Some(count) = value.and_then(|v| v.trim().parse::<f64>().ok()) {
            *total.get_or_insert(0) += count as u64;
        }
    }
    total
}

/// A `/mutasi` answer's lines, amounts exact.
pub fn parse_mutasi_page(bytes: &[u8]) -> anyhow::Result<Page> {
    let body: MutasiBody = serde_json::from_slice(bytes)
        .with_context(|| format!("reading the /mutasi answer {}", lossy(bytes)))?;
    let lines = body
        .mutasi
        .iter()
        .map(|item| {
            Ok(Line {
                jenis: Jenis::from_code(item.jenis_transaksi)
                    .ok_or_else(|| anyhow!("jenis_transaksi {:?}", item.jenis_transaksi))?,
                nominal: decimal_of(item.nominal)
                    .ok_or_else(|| anyhow!("nominal {}", item.nominal))?,
                saldo: decimal_of(item.saldo).ok_or_else(|| anyhow!("saldo {}", item.saldo))?,
            })
        })
        .collect::<anyhow::Result<Vec<Line>>>()
        .context("a /mutasi line")?;
    Ok(Page {
        lines,
        next_cursor: body.next_cursor,
    })
}

/// The start of a body, for error messages.
fn lossy(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]);
    text.into_owned()
}

/// The `saldo` of a 200 answer to `what`; any other status is an error naming it.
fn saldo_of(what: &str, status: StatusCode, bytes: &[u8]) -> anyhow::Result<Decimal> {
    if status != StatusCode::OK {
        bail!("{what} answered {status}: {}", lossy(bytes));
    }
    let body: SaldoBody = serde_json::from_slice(bytes)
        .with_context(|| format!("reading the answer to {what}: {}", lossy(bytes)))?;
    decimal_of(body.saldo).ok_or_else(|| anyhow!("saldo {} is not a number", body.saldo))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_counts() {
        let text = "# HELP x\n\
            auth_pin_verify_duration_seconds_bucket{le=\"0.1\"} 3\n\
            auth_pin_verify_duration_seconds_sum 0.5\n\
            auth_pin_verify_duration_seconds_count 12\n\
            auth_pin_verify_duration_seconds_count_other 99\n";
        assert_eq!(prometheus_count(text, PIN_VERIFY_COUNT), Some(12));
        let labelled = "auth_pin_verify_duration_seconds_count{service=\"a\"} 2\n\
            auth_pin_verify_duration_seconds_count{service=\"b\"} 3\n";
        assert_eq!(prometheus_count(labelled, PIN_VERIFY_COUNT), Some(5));
        assert_eq!(prometheus_count("other_count 1\n", PIN_VERIFY_COUNT), None);
    }

    #[test]
    fn mutasi_pages_parse_exactly() {
        let page = parse_mutasi_page(
            br#"{"mutasi":[{"tanggal_transaksi":"2024-01-01T00:00:00.000001Z","no_rekening":"1234567890","jenis_transaksi":"D","nominal":0.01,"saldo":99999999999999999.99}],"next_cursor":"17"}"#,
        )
        .expect("parses");
        assert_eq!(
            page.lines,
            vec![Line {
                jenis: Jenis::Tarik,
                nominal: Decimal::new(1, 2),
                saldo: Decimal::from_str_exact("99999999999999999.99").expect("decimal"),
            }]
        );
        assert_eq!(page.next_cursor.as_deref(), Some("17"));
        assert!(parse_mutasi_page(br#"{"mutasi":[],"next_cursor":null}"#).is_ok());
        assert!(
            parse_mutasi_page(br#"{"mutasi":[{"jenis_transaksi":"X","nominal":1,"saldo":1}]}"#)
                .is_err()
        );
    }
}
