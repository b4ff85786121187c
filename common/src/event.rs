//! The stream entry for one committed transaction: what transaksi's relay writes with `XADD`
//! and what mutasi reads. Flat fields, all text, readable with `redis-cli XRANGE`:
//!
//! | field | example | meaning |
//! |---|---|---|
//! | `v` | `1` | format version |
//! | `event_id` | `019a…` (UUID) | the transaction id (journal id); unique, so duplicates are recognised |
//! | `no_rekening` | `1234567897` | the account |
//! | `jenis_transaksi` | `C` / `D` | deposit (credit) / withdrawal (debit) |
//! | `nominal` | `10.25` | the amount, exact decimal text |
//! | `saldo` | `110.25` | the balance right after this transaction |
//! | `urutan_rekening` | `7` | 1, 2, 3, … per account, in commit order |
//! | `tanggal_transaksi` | `2026-11-21T08:00:00.123456Z` | commit-time timestamp, UTC |
//! | `traceparent` | `00-…-…-01` | W3C trace context of the request (optional) |

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::no_rekening::NoRekening;
use bukubesar_process::trace::Traceparent;

/// The format version written by this code.
pub const VERSION: &str = "1";

/// The largest amount or balance a `NUMERIC(20,2)` column holds.
pub fn max_rupiah() -> Decimal {
    Decimal::from_i128_with_scale(99_999_999_999_999_999_999, 2)
}

/// Deposit (credit, `C`) or withdrawal (debit, `D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Jenis {
    #[serde(rename = "C")]
    Tabung,
    #[serde(rename = "D")]
    Tarik,
}

impl Jenis {
    /// The journal/statement code: `C` for a deposit, `D` for a withdrawal.
    pub fn code(self) -> &'static str {
        match self {
            Jenis::Tabung => "C",
            Jenis::Tarik => "D",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "C" => Some(Jenis::Tabung),
            "D" => Some(Jenis::Tarik),
            _ => None,
        }
    }
}

/// One committed deposit or withdrawal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutasiEvent {
    pub event_id: Uuid,
    pub no_rekening: NoRekening,
    pub jenis: Jenis,
    pub nominal: Decimal,
    pub saldo: Decimal,
    pub urutan_rekening: i64,
    pub tanggal_transaksi: DateTime<Utc>,
    pub traceparent: Option<Traceparent>,
}

impl MutasiEvent {
    /// The entry's fields, in a fixed order, for `XADD`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("v", VERSION.to_owned()),
            ("event_id", self.event_id.to_string()),
            ("no_rekening", self.no_rekening.to_string()),
            ("jenis_transaksi", self.jenis.code().to_owned()),
            ("nominal", self.nominal.to_string()),
            ("saldo", self.saldo.to_string()),
            ("urutan_rekening", self.urutan_rekening.to_string()),
            (
                "tanggal_transaksi",
                self.tanggal_transaksi
                    .to_rfc3339_opts(SecondsFormat::Micros, true),
            ),
        ];
        if let Some(traceparent) = &self.traceparent {
            fields.push(("traceparent", traceparent.to_string()));
        }
        fields
    }

    /// Reads an entry. The error is the reason the entry is poison (it names the field, never
    /// echoes more than the field's name and the rule it broke).
    pub fn parse(fields: &HashMap<String, String>) -> Result<Self, String> {
        let get = |name: &str| {
            fields
                .get(name)
                .map(String::as_str)
                .ok_or_else(|| format!("field {name} missing"))
        };
        let version = get("v")?;
        if version != VERSION {
            return Err(format!("unknown format version {version:?}"));
        }
        let event_id =
            Uuid::parse_str(get("event_id")?).map_err(|_| "event_id is not a UUID".to_owned())?;
        let no_rekening = NoRekening::parse(get("no_rekening")?)
            .map_err(|_| "no_rekening is not a well-formed account number".to_owned())?;
        let jenis = Jenis::from_code(get("jenis_transaksi")?)
            .ok_or_else(|| "jenis_transaksi is neither C nor D".to_owned())?;
        let nominal = rupiah(get("nominal")?, "nominal")?;
        if nominal <= Decimal::ZERO {
            return Err("nominal is not positive".into());
        }
        let saldo = rupiah(get("saldo")?, "saldo")?;
        let urutan_rekening: i64 = get("urutan_rekening")?
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| "urutan_rekening is not a positive integer".to_owned())?;
        let tanggal_transaksi = DateTime::parse_from_rfc3339(get("tanggal_transaksi")?)
            .map_err(|_| "tanggal_transaksi is not an RFC 3339 timestamp".to_owned())?
            .with_timezone(&Utc);
        // A malformed trace context loses the link to the trace, not the event.
        let traceparent = fields
            .get("traceparent")
            .and_then(|t| Traceparent::parse(t));
        Ok(MutasiEvent {
            event_id,
            no_rekening,
            jenis,
            nominal,
            saldo,
            urutan_rekening,
            tanggal_transaksi,
            traceparent,
        })
    }
}

fn rupiah(text: &str, field: &str) -> Result<Decimal, String> {
    let bad = || format!("{field} is not an amount with at most 2 decimals in NUMERIC(20,2)");
    if text.is_empty() || text.len() > 24 || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        return Err(bad());
    }
    let value = Decimal::from_str(text).map_err(|_| bad())?;
    if value.scale() > 2 || value.is_sign_negative() || value > max_rupiah() {
        return Err(bad());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MutasiEvent {
        MutasiEvent {
            event_id: Uuid::now_v7(),
            no_rekening: "1234567897".parse().expect("well formed"),
            jenis: Jenis::Tarik,
            nominal: Decimal::new(1025, 2),
            saldo: Decimal::from_i128_with_scale(99_999_999_999_999_999_999, 2),
            urutan_rekening: 7,
            tanggal_transaksi: DateTime::parse_from_rfc3339("2026-11-21T08:00:00.123456Z")
                .expect("time")
                .with_timezone(&Utc),
            traceparent: Traceparent::parse(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        }
    }

    fn as_map(event: &MutasiEvent) -> HashMap<String, String> {
        event
            .fields()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    #[test]
    fn round_trips() {
        let event = sample();
        assert_eq!(MutasiEvent::parse(&as_map(&event)), Ok(event.clone()));
        let mut without_trace = event;
        without_trace.traceparent = None;
        assert_eq!(
            MutasiEvent::parse(&as_map(&without_trace)),
            Ok(without_trace)
        );
    }

    #[test]
    fn poison_is_named() {
        let cases: [(&str, Option<&str>, &str); 12] = [
            ("v", Some("2"), "version"),
            ("v", None, "field v missing"),
            ("event_id", Some("not-a-uuid"), "event_id"),
            ("no_rekening", Some("1234567898"), "no_rekening"),
            ("jenis_transaksi", Some("X"), "jenis_transaksi"),
            ("nominal", Some("0"), "nominal is not positive"),
            ("nominal", Some("1.005"), "nominal"),
            ("nominal", Some("-5"), "nominal"),
            ("saldo", Some("1e3"), "saldo"),
            ("saldo", Some("1000000000000000000.00"), "saldo"),
            ("urutan_rekening", Some("0"), "urutan_rekening"),
            ("tanggal_transaksi", Some("yesterday"), "tanggal_transaksi"),
        ];
        for (field, value, reason) in cases {
            let mut map = as_map(&sample());
            match value {
                Some(v) => map.insert(field.to_owned(), v.to_owned()),
                None => map.remove(field),
            };
            let error = MutasiEvent::parse(&map).expect_err(field);
            assert!(error.contains(reason), "{field}: {error}");
        }
    }

    #[test]
    fn a_bad_traceparent_only_loses_the_link() {
        let mut map = as_map(&sample());
        map.insert("traceparent".into(), "garbage".into());
        assert_eq!(MutasiEvent::parse(&map).expect("parses").traceparent, None);
    }
}
