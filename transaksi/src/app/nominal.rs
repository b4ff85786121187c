//! Amounts (`nominal`): a JSON number greater than zero, at most 2 decimal places and at most
//! 18 integer digits. Parsed from the number's own JSON text, never through a float, so
//! `12345678901234567.89` stays exactly that.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::AppError;

/// Most integer digits an amount (and a balance) may have.
pub const MAX_INTEGER_DIGITS: u32 = 18;
/// Most decimal places an amount may have.
pub const MAX_DECIMAL_PLACES: u32 = 2;

/// Largest balance an account may hold: 999,999,999,999,999,999.99 (NUMERIC(20,2)), the same
/// bound the stream's events are checked against.
pub fn max_saldo() -> Decimal {
    bukubesar_common::event::max_rupiah()
}

/// A validated amount: `0 < value < 10^18`, at most 2 decimal places.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nominal(Decimal);

impl Nominal {
    /// Parses the JSON text of the `nominal` field (as received, e.g. `10.50`, `"10"`, `null`).
    pub fn from_json_text(text: &str) -> Result<Self, AppError> {
        let text = text.trim();
        let first = text.chars().next();
        if !matches!(first, Some('-' | '0'..='9')) {
            return Err(invalid(
                "nominal harus berupa angka JSON, bukan teks atau null",
            ));
        }
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            Decimal::from_str_exact(text)
        };
        let value = parsed.map_err(|_| invalid("nominal terlalu besar atau terlalu presisi"))?;
        Self::new(value)
    }

    /// Checks the amount rules on an already exact decimal.
    pub fn new(value: Decimal) -> Result<Self, AppError> {
        let value = value.normalize();
        if value <= Decimal::ZERO {
            return Err(invalid("nominal harus lebih besar dari 0"));
        }
        if value.scale() > MAX_DECIMAL_PLACES {
            return Err(invalid("nominal paling banyak 2 angka di belakang koma"));
        }
        if value.trunc() >= Decimal::from(10_u64.pow(MAX_INTEGER_DIGITS)) {
            return Err(invalid("nominal paling banyak 18 digit sebelum koma"));
        }
        Ok(Nominal(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// Stored (in an idempotency record's outcome) as the decimal it is, and read back through the
/// same rules.
impl Serialize for Nominal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Serialize::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Nominal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <Decimal as Deserialize>::deserialize(deserializer)?;
        Nominal::new(value).map_err(serde::de::Error::custom)
    }
}

fn invalid(remark: &str) -> AppError {
    AppError::invalid("nominal", remark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> String {
        Nominal::from_json_text(text)
            .unwrap_or_else(|e| panic!("{text} should be accepted: {e}"))
            .value()
            .to_string()
    }

    fn rejected(text: &str) {
        assert!(
            Nominal::from_json_text(text).is_err(),
            "{text} should be rejected"
        );
    }

    #[test]
    fn accepts_exact_amounts() {
        assert_eq!(ok("10"), "10");
        assert_eq!(ok("0.01"), "0.01");
        assert_eq!(ok("0.1"), "0.1");
        assert_eq!(ok("10.50"), "10.5");
        assert_eq!(ok("10.500"), "10.5", "trailing zeros are not precision");
        assert_eq!(ok("12345678901234567.89"), "12345678901234567.89");
        assert_eq!(ok("999999999999999999.99"), "999999999999999999.99");
        assert_eq!(ok("1e2"), "100");
        assert_eq!(ok("1.5E1"), "15");
    }

    #[test]
    fn rejects_everything_else() {
        for text in [
            "0",
            "0.00",
            "-1",
            "-0.01",
            "0.001",
            "10.123",
            "1000000000000000000",
            "1000000000000000000.00",
            "1e18",
            "1e-3",
            "1e400",
            "\"10\"",
            "null",
            "true",
            "[10]",
            "{}",
            "",
            "123456789012345678901234567890123",
            "0.0000000000000000000000000000001",
        ] {
            rejected(text);
        }
    }

    #[test]
    fn max_saldo_has_18_integer_digits_and_2_decimals() {
        assert_eq!(max_saldo().to_string(), "999999999999999999.99");
    }

    #[test]
    fn remark_names_the_field() {
        match Nominal::from_json_text("0") {
            Err(AppError::Invalid { field, .. }) => assert_eq!(field, "nominal"),
            other => panic!("unexpected {other:?}"),
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Largest amount in cents: 10^18 - 0.01.
        const MAX_CENTS: u128 = 100_000_000_000_000_000_000 - 1;

        proptest! {
            #[test]
            fn every_amount_in_range_is_accepted_exactly(cents in 1..=MAX_CENTS) {
                let expected = Decimal::from_i128_with_scale(cents as i128, 2);
                for text in [
                    format!("{}.{:02}", cents / 100, cents % 100),
                    expected.normalize().to_string(),
                ] {
                    let parsed = Nominal::from_json_text(&text);
                    prop_assert!(parsed.is_ok(), "{} refused", text);
                    prop_assert_eq!(parsed.map(Nominal::value).ok(), Some(expected.normalize()));
                }
            }

            #[test]
            fn a_third_significant_decimal_is_refused(mills in 1..=MAX_CENTS * 10) {
                prop_assume!(mills % 10 != 0);
                let text = format!("{}.{:03}", mills / 1000, mills % 1000);
                prop_assert!(Nominal::from_json_text(&text).is_err(), "{} accepted", text);
            }

            #[test]
            fn zero_and_negative_amounts_are_refused(cents in 0..=MAX_CENTS) {
                let text = format!("-{}.{:02}", cents / 100, cents % 100);
                prop_assert!(Nominal::from_json_text(&text).is_err(), "{} accepted", text);
                prop_assert!(Nominal::new(Decimal::ZERO).is_err());
            }

            #[test]
            fn nineteen_integer_digits_are_refused(whole in 1_000_000_000_000_000_000_u128..=u128::from(u64::MAX) * 1000, cents in 0_u32..100) {
                let text = format!("{whole}.{cents:02}");
                prop_assert!(Nominal::from_json_text(&text).is_err(), "{} accepted", text);
            }

            #[test]
            fn strings_null_and_other_json_are_refused(text in "\"[0-9.]{1,20}\"|null|true|false|\\[[0-9]{1,5}\\]|\\{\\}") {
                prop_assert!(Nominal::from_json_text(&text).is_err(), "{} accepted", text);
            }

            #[test]
            fn any_text_is_answered_without_panicking(text in "\\PC{0,64}") {
                if let Ok(nominal) = Nominal::from_json_text(&text) {
                    let value = nominal.value();
                    prop_assert!(value > Decimal::ZERO && value.scale() <= 2);
                    prop_assert!(value < Decimal::from(10_u64.pow(18)));
                }
            }
        }
    }
}
