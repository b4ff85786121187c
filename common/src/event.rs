//! The stream entry for one committed transaction: what transaksi's relay writes with `XADD`
//! and what mutasi reads. Flat fields, all text, readable with `redis-cli XRANGE`:
//!
//! | field | example | meaning |
//! |---|---|---|
//! | `v` | `2` | format version (`1` is still read, see below) |
//! | `event_id` | `019a…` (UUID) | this event (the journal leg's id); unique |
//! | `transaksi_id` | `019a…` (UUID) | the transaction; one event per (transaction, account), so duplicates are recognised |
//! | `no_rekening` | `1234567897` | the account |
//! | `jenis_transaksi` | `C` / `D` | credit (deposit, incoming transfer) / debit (withdrawal, outgoing transfer) |
//! | `nominal` | `10.25` | the amount, exact decimal text |
//! | `saldo` | `110.25` | the balance right after this transaction |
//! | `urutan_rekening` | `7` | 1, 2, 3, … per account, in commit order |
//! | `tanggal_transaksi` | `2026-11-21T08:00:00.123456Z` | commit-time timestamp, UTC |
//! | `traceparent` | `00-…-…-01` | W3C trace context of the request (optional) |
//! | `no_rekening_lawan` | `2345678904` | a transfer's other customer (optional) |
//! | `keterangan` | `bayar kos` | a transfer's description, 1 to 140 characters (optional) |
//! | `referensi` | `INV-2026-001` | a transfer's reference, 1 to 64 characters (optional) |
//!
//! Format 1 (before transfers) had no `transaksi_id` and none of the optional transfer
//! fields; its `event_id` was the transaction id, so it reads as `transaksi_id = event_id`.
//! A transaction's first customer leg keeps that property (its leg id is the transaction id),
//! so an event republished in format 2 after an upgrade is recognised as the same line.
use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::no_rekening::NoRekening;
use bukubesar_process::trace::Traceparent;

/// The format version written by this code.
pub const VERSION: &str = "2";

/// The format before transfers, still read.
pub const VERSION_1: &str = "1";

/// Longest `keterangan` (characters) and `referensi` (characters).
pub const MAX_KETERANGAN_CHARS: usize = 140;
pub const MAX_REFERENSI_CHARS: usize = 64;

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
    /// A credit leg (`C`): money into the account.
    pub const CREDIT: Jenis = Jenis::Tabung;
    /// A debit leg (`D`): money out of the account.
    pub const DEBIT: Jenis = Jenis::Tarik;

    /// The other side of a leg.
    pub fn opposite(self) -> Self {
        match self {
            Jenis::Tabung => Jenis::Tarik,
            Jenis::Tarik => Jenis::Tabung,
        }
    }

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

/// One customer leg of a committed transaction (a deposit, a withdrawal, one side of a
/// transfer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutasiEvent {
    pub event_id: Uuid,
    pub transaksi_id: Uuid,
    pub no_rekening: NoRekening,
    pub jenis: Jenis,
    pub nominal: Decimal,
    pub saldo: Decimal,
    pub urutan_rekening: i64,
    pub tanggal_transaksi: DateTime<Utc>,
    pub traceparent: Option<Traceparent>,
    pub no_rekening_lawan: Option<NoRekening>,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
}

impl MutasiEvent {
    /// The entry's fields, in a fixed order, for `XADD`.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("v", VERSION.to_owned()),
            ("event_id", self.event_id.to_string()),
            ("transaksi_id", self.transaksi_id.to_string()),
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
        if let Some(lawan) = &self.no_rekening_lawan {
            fields.push(("no_rekening_lawan", lawan.to_string()));
        }
        if let Some(keterangan) = &self.keterangan {
            fields.push(("keterangan", keterangan.clone()));
        }
        if let Some(referensi) = &self.referensi {
            fields.push(("referensi", referensi.clone()));
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
        if version != VERSION && version != VERSION_1 {
            return Err(format!("unknown format version {version:?}"));
        }
        let event_id =
            Uuid::parse_str(get("event_id")?).map_err(|_| "event_id is not a UUID".to_owned())?;
        let transaksi_id = if version == VERSION_1 {
            event_id
        } else {
            Uuid::parse_str(get("transaksi_id")?)
                .map_err(|_| "transaksi_id is not a UUID".to_owned())?
        };
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
        let transfer = TransferFields::parse(fields, version)?;
        Ok(MutasiEvent {
            event_id,
            transaksi_id,
            no_rekening,
            jenis,
            nominal,
            saldo,
            urutan_rekening,
            tanggal_transaksi,
            traceparent,
            no_rekening_lawan: transfer.no_rekening_lawan,
            keterangan: transfer.keterangan,
            referensi: transfer.referensi,
        })
    }
}

/// The optional fields of a transfer's leg (format 2 only).
struct TransferFields {
    no_rekening_lawan: Option<NoRekening>,
    keterangan: Option<String>,
    referensi: Option<String>,
}

impl TransferFields {
    fn parse(fields: &HashMap<String, String>, version: &str) -> Result<Self, String> {
        if version == VERSION_1 {
            return Ok(TransferFields {
                no_rekening_lawan: None,
                keterangan: None,
                referensi: None,
            });
        }
        let no_rekening_lawan = fields
            .get("no_rekening_lawan")
            .map(|text| {
                NoRekening::parse(text)
                    .map_err(|_| "no_rekening_lawan is not a well-formed account number".to_owned())
            })
            .transpose()?;
        let text = |name: &str, max: usize| -> Result<Option<String>, String> {
            match fields.get(name) {
                None => Ok(None),
                Some(value) if is_free_text(value, max) => Ok(Some(value.clone())),
                Some(_) => Err(format!(
                    "{name} is not 1 to {max} characters without control characters"
                )),
            }
        };
        Ok(TransferFields {
            no_rekening_lawan,
            keterangan: text("keterangan", MAX_KETERANGAN_CHARS)?,
            referensi: text("referensi", MAX_REFERENSI_CHARS)?,
        })
    }
}

/// 1 to `max` characters, none of them a control character: the rule for `keterangan` and
/// `referensi`, on the way in (transaksi) and out (the stream).
pub fn is_free_text(value: &str, max: usize) -> bool {
    let count = value.chars().count();
    (1..=max).contains(&count) && !value.chars().any(char::is_control)
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
        let event_id = Uuid::now_v7();
        MutasiEvent {
            event_id,
            transaksi_id: event_id,
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
            no_rekening_lawan: None,
            keterangan: None,
            referensi: None,
        }
    }

    fn transfer_leg() -> MutasiEvent {
        MutasiEvent {
            event_id: Uuid::now_v7(),
            no_rekening_lawan: Some("2345678904".parse().expect("well formed")),
            keterangan: Some("bayar kos, Desember".into()),
            referensi: Some("INV-2026-001".into()),
            ..sample()
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
        let leg = transfer_leg();
        assert_eq!(MutasiEvent::parse(&as_map(&leg)), Ok(leg));
    }

    /// An entry written before transfers: no `transaksi_id`, version 1. Its event id is its
    /// transaction id.
    #[test]
    fn format_1_is_still_read() {
        let mut map = as_map(&sample());
        map.remove("transaksi_id");
        map.insert("v".into(), "1".into());
        // Fields format 1 never had are ignored there, as any unknown field was.
        map.insert("keterangan".into(), "\u{7}".into());
        let event = MutasiEvent::parse(&map).expect("format 1 parses");
        assert_eq!(event.transaksi_id, event.event_id);
        assert_eq!(event.keterangan, None);
        assert_eq!(event, sample_with_id(event.event_id));
    }

    fn sample_with_id(id: Uuid) -> MutasiEvent {
        MutasiEvent {
            event_id: id,
            transaksi_id: id,
            ..sample()
        }
    }

    #[test]
    fn poison_is_named() {
        let cases: [(&str, Option<&str>, &str); 16] = [
            ("v", Some("3"), "version"),
            ("transaksi_id", None, "field transaksi_id missing"),
            ("transaksi_id", Some("x"), "transaksi_id"),
            ("no_rekening_lawan", Some("1234567898"), "no_rekening_lawan"),
            ("keterangan", Some(""), "keterangan"),
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
            let mut map = as_map(&transfer_leg());
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
