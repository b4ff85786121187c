//! Operations: what to send (which account, deposit or withdrawal, how much), the request
//! bytes, and what an answer means.

use bytes::Bytes;
use hyper::StatusCode;
use rand::Rng;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::cli::Target;

/// Smallest and largest random amount, in cents (1.00 to 1000.00).
pub const MIN_NOMINAL_CENTS: i64 = 100;
pub const MAX_NOMINAL_CENTS: i64 = 100_000;

/// Deposit (`/tabung`, statement code `C`) or withdrawal (`/tarik`, code `D`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Jenis {
    Tabung,
    Tarik,
}

impl Jenis {
    pub fn path(self) -> &'static str {
        match self {
            Jenis::Tabung => "/tabung",
            Jenis::Tarik => "/tarik",
        }
    }

    /// `jenis_transaksi` as the API writes it.
    pub fn code(self) -> &'static str {
        match self {
            Jenis::Tabung => "C",
            Jenis::Tarik => "D",
        }
    }

    pub fn from_code(code: &str) -> Option<Jenis> {
        match code {
            "C" => Some(Jenis::Tabung),
            "D" => Some(Jenis::Tarik),
            _ => None,
        }
    }

    /// The balance change of a posted operation of this kind.
    pub fn signed(self, nominal: Decimal) -> Decimal {
        match self {
            Jenis::Tabung => nominal,
            Jenis::Tarik => -nominal,
        }
    }
}

/// One planned operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Op {
    /// Index into the run's account list.
    pub account: u32,
    pub jenis: Jenis,
    pub nominal_cents: i64,
}

impl Op {
    pub fn nominal(self) -> Decimal {
        Decimal::new(self.nominal_cents, 2)
    }
}

/// Draws the next operation: the account by `target`, a withdrawal with probability
/// `tarik_percent`%, an amount uniform in cents between 1.00 and 1000.00.
pub fn draw(rng: &mut impl Rng, target: Target, accounts: u32, tarik_percent: u8) -> Op {
    let account = match target {
        Target::Hot => 0,
        Target::Spread => rng.random_range(0..accounts),
    };
    let jenis = if rng.random_range(0..100_u8) < tarik_percent {
        Jenis::Tarik
    } else {
        Jenis::Tabung
    };
    Op {
        account,
        jenis,
        nominal_cents: rng.random_range(MIN_NOMINAL_CENTS..=MAX_NOMINAL_CENTS),
    }
}

/// `{"no_rekening":"…","nominal":12.34}`: the amount as a JSON number with two decimals.
pub fn posting_body(no_rekening: &str, nominal_cents: i64) -> Bytes {
    let mut body = String::with_capacity(48);
    body.push_str("{\"no_rekening\":\"");
    body.push_str(no_rekening);
    body.push_str("\",\"nominal\":");
    push_cents(&mut body, nominal_cents);
    body.push('}');
    Bytes::from(body)
}

/// Writes a non-negative amount in cents as `123.45`.
pub fn push_cents(out: &mut String, cents: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{}.{:02}", cents / 100, cents % 100);
}

/// What an answer to a posting means for the checks.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200 with the balance right after the operation.
    Posted { saldo: Decimal },
    /// 400 "saldo tidak cukup" to a withdrawal: refused, nothing posted.
    Refused,
    /// Any other 4xx: nothing posted, but not what a correct client should get.
    Rejected,
    /// 5xx: the server says nothing was posted (its documented contract; the money check
    /// holds it to that).
    ServerError,
    /// 200 whose body does not match the operation sent (or cannot be read): probably posted,
    /// unknown how.
    Garbled,
}

/// The part of a posting's 200 answer that is checked. Amounts are read from their JSON text,
/// never through a float.
#[derive(Deserialize)]
struct PostedBody<'a> {
    #[serde(borrow)]
    saldo: &'a RawValue,
    #[serde(borrow)]
    nominal: &'a RawValue,
    jenis_transaksi: &'a str,
    no_rekening: &'a str,
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    remark: std::borrow::Cow<'a, str>,
}

pub const SALDO_TIDAK_CUKUP: &str = "saldo tidak cukup";

pub fn classify(no_rekening: &str, op: Op, status: StatusCode, body: &[u8]) -> Answer {
    if status == StatusCode::OK {
        let Ok(posted) = serde_json::from_slice::<PostedBody>(body) else {
            return Answer::Garbled;
        };
        let (Some(saldo), Some(nominal)) = (decimal_of(posted.saldo), decimal_of(posted.nominal))
        else {
            return Answer::Garbled;
        };
        if nominal != op.nominal()
            || posted.jenis_transaksi != op.jenis.code()
            || posted.no_rekening != no_rekening
        {
            return Answer::Garbled;
        }
        Answer::Posted { saldo }
    } else if status.is_server_error() {
        Answer::ServerError
    } else if status == StatusCode::BAD_REQUEST
        && op.jenis == Jenis::Tarik
        && serde_json::from_slice::<ErrorBody>(body)
            .is_ok_and(|error| error.remark == SALDO_TIDAK_CUKUP)
    {
        Answer::Refused
    } else {
        Answer::Rejected
    }
}

/// An exact decimal from a JSON number's text (`12.5`, `1000000`, `1.5e3`).
pub fn decimal_of(raw: &RawValue) -> Option<Decimal> {
    let text = raw.get();
    if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return None;
    }
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str_exact(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    fn op(jenis: Jenis, cents: i64) -> Op {
        Op {
            account: 0,
            jenis,
            nominal_cents: cents,
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(
            posting_body("4821937465", 1005),
            Bytes::from_static(b"{\"no_rekening\":\"4821937465\",\"nominal\":10.05}")
        );
        let mut s = String::new();
        push_cents(&mut s, 100_000);
        assert_eq!(s, "1000.00");
    }

    #[test]
    fn draws_stay_in_bounds() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut tarik = 0;
        for _ in 0..10_000 {
            let op = draw(&mut rng, Target::Spread, 5, 30);
            assert!(op.account < 5);
            assert!((MIN_NOMINAL_CENTS..=MAX_NOMINAL_CENTS).contains(&op.nominal_cents));
            tarik += usize::from(op.jenis == Jenis::Tarik);
        }
        assert!((2_500..3_500).contains(&tarik), "{tarik}");
        assert_eq!(draw(&mut rng, Target::Hot, 5, 30).account, 0);
        assert_eq!(draw(&mut rng, Target::Spread, 5, 0).jenis, Jenis::Tabung);
        assert_eq!(draw(&mut rng, Target::Spread, 5, 100).jenis, Jenis::Tarik);
    }

    #[test]
    fn answers() {
        let ok = br#"{"saldo":1000010.05,"id":"x","no_rekening":"4821937465","jenis_transaksi":"C","nominal":10.05,"tanggal_transaksi":"t"}"#;
        assert_eq!(
            classify("4821937465", op(Jenis::Tabung, 1005), StatusCode::OK, ok),
            Answer::Posted {
                saldo: Decimal::new(100_001_005, 2)
            }
        );
        // An answer that does not echo what was sent is not trusted.
        for (no, op) in [
            ("4821937465", op(Jenis::Tarik, 1005)),
            ("4821937465", op(Jenis::Tabung, 1006)),
            ("4821937466", op(Jenis::Tabung, 1005)),
        ] {
            assert_eq!(classify(no, op, StatusCode::OK, ok), Answer::Garbled);
        }
        assert_eq!(
            classify("1", op(Jenis::Tabung, 1), StatusCode::OK, b"{}"),
            Answer::Garbled
        );
        let refused = br#"{"remark":"saldo tidak cukup","field":"nominal"}"#;
        assert_eq!(
            classify("1", op(Jenis::Tarik, 1), StatusCode::BAD_REQUEST, refused),
            Answer::Refused
        );
        assert_eq!(
            classify("1", op(Jenis::Tabung, 1), StatusCode::BAD_REQUEST, refused),
            Answer::Rejected
        );
        assert_eq!(
            classify("1", op(Jenis::Tarik, 1), StatusCode::UNAUTHORIZED, b"{}"),
            Answer::Rejected
        );
        assert_eq!(
            classify(
                "1",
                op(Jenis::Tarik, 1),
                StatusCode::SERVICE_UNAVAILABLE,
                b""
            ),
            Answer::ServerError
        );
    }

    #[test]
    fn exact_decimals() {
        let raw = |s: &str| serde_json::from_str::<Box<RawValue>>(s).expect("json");
        assert_eq!(
            decimal_of(&raw("12345678901234567.89")),
            Some(Decimal::new(1_234_567_890_123_456_789, 2))
        );
        assert_eq!(decimal_of(&raw("1.5e3")), Some(Decimal::from(1500)));
        assert_eq!(decimal_of(&raw("\"12\"")), None);
        assert_eq!(decimal_of(&raw("null")), None);
    }
}
