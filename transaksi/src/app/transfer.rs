//! Transfer (`/transfer`): the rules.
//!
//! A transfer moves `nominal` from the source (the caller's account) to the destination in
//! one transaction of the double-entry journal: the source is debited `nominal + biaya`, the
//! destination credited `nominal`, and the fee income account (`PENDAPATAN_BIAYA`) credited
//! `biaya` when there is a fee. Debits equal credits by construction, and the journal's
//! trigger checks it again.
//!
//! * The source must cover `nominal + biaya`; otherwise nothing at all is written ("saldo
//!   tidak cukup"): never a transfer without its fee, nor a fee without its transfer.
//! * The destination may not pass the balance maximum (18 integer digits).
//! * Source and destination differ, and the destination is a registered account.
//!
//! [`apply`] runs while the batch holds both balance rows locked (see [`super::batch`]), in
//! arrival order with the deposits and withdrawals of the same batch.
//!
//! The fee ([`FeePolicy`], `--transfer-fee-flat` and `--transfer-fee-percent`) is
//! `flat + percent × nominal / 100`, the percentage part rounded to 2 decimals **half up**
//! (a midpoint goes away from zero: 0.005 becomes 0.01), as a teller rounds; banker's
//! rounding (half to even) is not used. It is computed when the request is accepted and
//! stored with it, so a replay or a later change of the setting never changes a transfer.

use bukubesar_common::event::{MAX_KETERANGAN_CHARS, MAX_REFERENSI_CHARS, is_free_text};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::AppError;
use super::nominal::{Nominal, max_saldo};

/// The configured transfer fee. The default charges nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeePolicy {
    /// Charged on every transfer, in rupiah (two decimals at most).
    pub flat: Decimal,
    /// Percent of `nominal` (e.g. `1` for 1 %), rounded half up to 2 decimals.
    pub percent: Decimal,
}

impl FeePolicy {
    /// The largest percentage accepted.
    pub fn max_percent() -> Decimal {
        Decimal::from(100)
    }

    /// Checks the settings: both at least 0, the flat fee with at most 2 decimals and below
    /// the balance maximum, the percentage at most 100.
    pub fn new(flat: Decimal, percent: Decimal) -> Result<Self, String> {
        if flat.is_sign_negative() || flat.scale() > 2 || flat > max_saldo() {
            return Err(format!(
                "transfer fee {flat} is not an amount of at least 0 with at most 2 decimals"
            ));
        }
        if percent.is_sign_negative() || percent > Self::max_percent() {
            return Err(format!("transfer fee percentage {percent} is not 0 to 100"));
        }
        Ok(FeePolicy { flat, percent })
    }

    /// The fee of a transfer of `nominal`.
    pub fn fee(&self, nominal: Nominal) -> Decimal {
        let share = (nominal.value() * self.percent / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        // Both parts have 2 decimals at most; the sum is exact.
        (self.flat + share).round_dp(2)
    }
}

/// Why a transfer was refused in the batch; nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The source does not cover `nominal + biaya`.
    InsufficientSaldo,
    /// The destination would pass the balance maximum.
    SaldoLimit,
    /// The destination has no balance row (never registered) or is the source.
    UnknownTujuan,
}

/// The balances after a transfer: `(source, destination)`.
pub fn apply(
    saldo_asal: Decimal,
    saldo_tujuan: Decimal,
    nominal: Nominal,
    biaya: Decimal,
) -> Result<(Decimal, Decimal), Refusal> {
    let debit = nominal.value() + biaya;
    if saldo_asal < debit {
        return Err(Refusal::InsufficientSaldo);
    }
    let tujuan = saldo_tujuan + nominal.value();
    if tujuan > max_saldo() {
        return Err(Refusal::SaldoLimit);
    }
    Ok((saldo_asal - debit, tujuan))
}

/// `keterangan`: absent, or 1 to 140 characters without control characters.
pub fn parse_keterangan(text: Option<String>) -> Result<Option<String>, AppError> {
    free_text(text, "keterangan", MAX_KETERANGAN_CHARS)
}

/// `referensi`: absent, or 1 to 64 characters without control characters.
pub fn parse_referensi(text: Option<String>) -> Result<Option<String>, AppError> {
    free_text(text, "referensi", MAX_REFERENSI_CHARS)
}

fn free_text(
    text: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, AppError> {
    match text {
        Some(value) if !is_free_text(&value, max) => Err(AppError::invalid(
            field,
            format!("{field} harus 1 sampai {max} karakter tanpa karakter kontrol"),
        )),
        value => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    fn n(text: &str) -> Nominal {
        Nominal::new(d(text)).expect("a valid amount")
    }

    #[test]
    fn the_source_pays_amount_and_fee_or_nothing() {
        assert_eq!(
            apply(d("10.00"), d("0"), n("9.00"), d("1.00")),
            Ok((d("0.00"), d("9.00")))
        );
        assert_eq!(
            apply(d("10.00"), d("5"), n("9.00"), d("1.01")),
            Err(Refusal::InsufficientSaldo)
        );
        assert_eq!(
            apply(d("10.00"), max_saldo(), n("0.01"), d("0")),
            Err(Refusal::SaldoLimit)
        );
    }

    #[test]
    fn fees_round_half_up_to_two_decimals() {
        let one_percent = FeePolicy::new(d("0"), d("1")).expect("valid");
        assert_eq!(one_percent.fee(n("100.00")), d("1.00"));
        // 0.5 % of 1.01 is 0.00505: up to 0.01.
        let half = FeePolicy::new(d("0"), d("0.5")).expect("valid");
        assert_eq!(half.fee(n("1.01")), d("0.01"));
        // 1 % of 0.50 is exactly 0.005: a midpoint, away from zero (banker's would give 0.00).
        assert_eq!(one_percent.fee(n("0.50")), d("0.01"));
        // 1 % of 2.50 is 0.025: half up gives 0.03 (banker's would give 0.02).
        assert_eq!(one_percent.fee(n("2.50")), d("0.03"));
        let both = FeePolicy::new(d("2500"), d("0.1")).expect("valid");
        assert_eq!(both.fee(n("1000000")), d("3500.00"));
        assert_eq!(FeePolicy::default().fee(n("123.45")), Decimal::ZERO);
    }

    #[test]
    fn fee_settings_are_checked() {
        assert!(FeePolicy::new(d("-1"), d("0")).is_err());
        assert!(FeePolicy::new(d("0.001"), d("0")).is_err());
        assert!(FeePolicy::new(d("0"), d("100.01")).is_err());
        assert!(FeePolicy::new(d("0"), d("-0.5")).is_err());
    }

    #[test]
    fn free_text_fields() {
        assert!(parse_keterangan(None).expect("absent").is_none());
        assert!(parse_keterangan(Some("bayar kos".into())).is_ok());
        assert!(parse_keterangan(Some(String::new())).is_err());
        assert!(parse_keterangan(Some("a\nb".into())).is_err());
        assert!(parse_keterangan(Some("é".repeat(140))).is_ok());
        assert!(parse_keterangan(Some("é".repeat(141))).is_err());
        assert!(parse_referensi(Some("x".repeat(65))).is_err());
    }
}
