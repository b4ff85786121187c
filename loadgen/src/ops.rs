//! Operations: what to send (which account, deposit, withdrawal or transfer to which other
//! account, how much), the request bytes, and what an answer means.

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
    /// Index into the run's account list: the account deposited to, withdrawn from, or
    /// transferred from.
    pub account: u32,
    /// `Tarik` for a transfer (its source is debited).
    pub jenis: Jenis,
    pub nominal_cents: i64,
    /// A transfer's destination (index into the account list); `None` for a posting.
    pub tujuan: Option<u32>,
}

impl Op {
    pub fn nominal(self) -> Decimal {
        Decimal::new(self.nominal_cents, 2)
    }

    /// The endpoint: `/tabung`, `/tarik` or `/transfer`.
    pub fn path(self) -> &'static str {
        match self.tujuan {
            Some(_) => "/transfer",
            None => self.jenis.path(),
        }
    }

    /// The `jenis` label of reports: `tabung`, `tarik`, `transfer`.
    pub fn label(self) -> &'static str {
        match (self.tujuan, self.jenis) {
            (Some(_), _) => "transfer",
            (None, Jenis::Tabung) => "tabung",
            (None, Jenis::Tarik) => "tarik",
        }
    }
}

/// The mix of operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    /// Percent of operations that are transfers to another account (needs 2 accounts).
    pub transfer_percent: u8,
    /// Percent of the other operations that are withdrawals.
    pub tarik_percent: u8,
}

/// Draws the next operation: the account by `target`; a transfer with probability
/// `transfer_percent`% (to another account drawn uniformly), else a withdrawal with
/// probability `tarik_percent`%, else a deposit; an amount uniform in cents between 1.00 and
/// 1000.00.
pub fn draw(rng: &mut impl Rng, target: Target, accounts: u32, mix: Mix) -> Op {
    let account = match target {
        Target::Hot => 0,
        Target::Spread => rng.random_range(0..accounts),
    };
    let nominal_cents = rng.random_range(MIN_NOMINAL_CENTS..=MAX_NOMINAL_CENTS);
    if accounts >= 2 && rng.random_range(0..100_u8) < mix.transfer_percent {
        // Any account but the source.
        let other = (account + 1 + rng.random_range(0..accounts - 1)) % accounts;
        return Op {
            account,
            jenis: Jenis::Tarik,
            nominal_cents,
            tujuan: Some(other),
        };
    }
    let jenis = if rng.random_range(0..100_u8) < mix.tarik_percent {
        Jenis::Tarik
    } else {
        Jenis::Tabung
    };
    Op {
        account,
        jenis,
        nominal_cents,
        tujuan: None,
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

/// `{"no_rekening_asal":"…","no_rekening_tujuan":"…","nominal":12.34}`.
pub fn transfer_body(asal: &str, tujuan: &str, nominal_cents: i64) -> Bytes {
    let mut body = String::with_capacity(96);
    body.push_str("{\"no_rekening_asal\":\"");
    body.push_str(asal);
    body.push_str("\",\"no_rekening_tujuan\":\"");
    body.push_str(tujuan);
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
    /// 200 with the balance right after the operation (a transfer's: its source's), and the
    /// fee a transfer's source paid besides the amount (0 for postings).
    Posted { saldo: Decimal, biaya: Decimal },
    /// 400 "saldo tidak cukup" to a withdrawal or transfer: refused, nothing posted.
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
    /// Transfers only.
    no_rekening_tujuan: Option<&'a str>,
    #[serde(borrow)]
    biaya: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ErrorBody<'a> {
    #[serde(borrow)]
    remark: std::borrow::Cow<'a, str>,
}

pub const SALDO_TIDAK_CUKUP: &str = "saldo tidak cukup";

/// What the answer to `op` from `no_rekening` (to `tujuan`, for a transfer) means.
pub fn classify(
    no_rekening: &str,
    tujuan: Option<&str>,
    op: Op,
    status: StatusCode,
    body: &[u8],
) -> Answer {
    if status == StatusCode::OK {
        let Ok(posted) = serde_json::from_slice::<PostedBody>(body) else {
            return Answer::Garbled;
        };
        let (Some(saldo), Some(nominal)) = (decimal_of(posted.saldo), decimal_of(posted.nominal))
        else {
            return Answer::Garbled;
        };
        let biaya = match (tujuan, posted.biaya.map(decimal_of)) {
            (None, None) => Decimal::ZERO,
            (Some(_), Some(Some(biaya))) if biaya >= Decimal::ZERO => biaya,
            _ => return Answer::Garbled,
        };
        if nominal != op.nominal()
            || posted.jenis_transaksi != op.jenis.code()
            || posted.no_rekening != no_rekening
            || posted.no_rekening_tujuan != tujuan
        {
            return Answer::Garbled;
        }
        Answer::Posted { saldo, biaya }
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
            tujuan: None,
        }
    }

    fn mix(transfer_percent: u8, tarik_percent: u8) -> Mix {
        Mix {
            transfer_percent,
            tarik_percent,
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
        let mut transfers = 0;
        for _ in 0..10_000 {
            let op = draw(&mut rng, Target::Spread, 5, mix(20, 30));
            assert!(op.account < 5);
            assert!((MIN_NOMINAL_CENTS..=MAX_NOMINAL_CENTS).contains(&op.nominal_cents));
            if let Some(tujuan) = op.tujuan {
                assert!(tujuan < 5 && tujuan != op.account);
                assert_eq!(op.path(), "/transfer");
                transfers += 1;
            } else {
                tarik += usize::from(op.jenis == Jenis::Tarik);
            }
        }
        assert!((1_700..2_300).contains(&transfers), "{transfers}");
        assert!((2_100..2_700).contains(&tarik), "{tarik}");
        assert_eq!(draw(&mut rng, Target::Hot, 5, mix(0, 30)).account, 0);
        assert_eq!(
            draw(&mut rng, Target::Spread, 5, mix(0, 0)).jenis,
            Jenis::Tabung
        );
        assert_eq!(
            draw(&mut rng, Target::Spread, 5, mix(0, 100)).jenis,
            Jenis::Tarik
        );
        let hot = draw(&mut rng, Target::Hot, 5, mix(100, 0));
        assert!(hot.tujuan.is_some_and(|t| t != 0));
        // One account has nobody to transfer to.
        assert_eq!(draw(&mut rng, Target::Spread, 1, mix(100, 0)).tujuan, None);
    }

    #[test]
    fn answers() {
        let ok = br#"{"saldo":1000010.05,"id":"x","no_rekening":"4821937465","jenis_transaksi":"C","nominal":10.05,"tanggal_transaksi":"t"}"#;
        assert_eq!(
            classify(
                "4821937465",
                None,
                op(Jenis::Tabung, 1005),
                StatusCode::OK,
                ok
            ),
            Answer::Posted {
                saldo: Decimal::new(100_001_005, 2),
                biaya: Decimal::ZERO,
            }
        );
        let transfer = Op {
            tujuan: Some(1),
            ..op(Jenis::Tarik, 1005)
        };
        let sent = br#"{"saldo":5.00,"id":"x","no_rekening":"4821937465","jenis_transaksi":"D","nominal":10.05,"biaya":0.10,"no_rekening_tujuan":"1234567897","tanggal_transaksi":"t"}"#;
        assert_eq!(
            classify(
                "4821937465",
                Some("1234567897"),
                transfer,
                StatusCode::OK,
                sent
            ),
            Answer::Posted {
                saldo: Decimal::new(500, 2),
                biaya: Decimal::new(10, 2),
            }
        );
        assert_eq!(
            classify(
                "4821937465",
                Some("2345678904"),
                transfer,
                StatusCode::OK,
                sent
            ),
            Answer::Garbled,
            "another destination"
        );
        assert_eq!(
            classify(
                "4821937465",
                None,
                op(Jenis::Tarik, 1005),
                StatusCode::OK,
                sent
            ),
            Answer::Garbled,
            "a transfer's answer to a withdrawal"
        );
        // An answer that does not echo what was sent is not trusted.
        for (no, op) in [
            ("4821937465", op(Jenis::Tarik, 1005)),
            ("4821937465", op(Jenis::Tabung, 1006)),
            ("4821937466", op(Jenis::Tabung, 1005)),
        ] {
            assert_eq!(classify(no, None, op, StatusCode::OK, ok), Answer::Garbled);
        }
        assert_eq!(
            classify("1", None, op(Jenis::Tabung, 1), StatusCode::OK, b"{}"),
            Answer::Garbled
        );
        let refused = br#"{"remark":"saldo tidak cukup","field":"nominal"}"#;
        assert_eq!(
            classify(
                "1",
                None,
                op(Jenis::Tarik, 1),
                StatusCode::BAD_REQUEST,
                refused
            ),
            Answer::Refused
        );
        assert_eq!(
            classify(
                "1",
                None,
                op(Jenis::Tabung, 1),
                StatusCode::BAD_REQUEST,
                refused
            ),
            Answer::Rejected
        );
        assert_eq!(
            classify(
                "1",
                None,
                op(Jenis::Tarik, 1),
                StatusCode::UNAUTHORIZED,
                b"{}"
            ),
            Answer::Rejected
        );
        assert_eq!(
            classify(
                "1",
                None,
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
