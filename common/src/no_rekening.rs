//! Account numbers: 10 digits, the first 9 drawn from the operating system's random source
//! (first digit 1-9), the last a Luhn check digit so a mistyped digit is caught before the
//! database is asked. Not sequential, so one customer's number tells nothing about another's.
//!
//! [`NoRekening`] is such a number once parsed: the type every layer of both services passes.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// Digits in an account number.
pub const LENGTH: usize = 10;

/// A well-formed account number: 10 ASCII digits, the last the Luhn check digit of the others.
/// Parsed once where a number enters (Basic credentials, a path, a request body, a stream
/// entry, a row read back) and carried as is, so nothing past that point checks the format
/// again. Serialized (JSON, SQL) as its digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct NoRekening(String);

/// Text that is not a well-formed account number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed account number (10 digits, the last a Luhn check digit)")]
pub struct Malformed;

impl NoRekening {
    pub fn parse(text: &str) -> Result<Self, Malformed> {
        if is_well_formed(text) {
            Ok(NoRekening(text.to_owned()))
        } else {
            Err(Malformed)
        }
    }

    /// A fresh random account number. Uniqueness is enforced by the database's primary key;
    /// the caller retries on the (one in ~900 million per existing account) collision.
    pub fn generate() -> Self {
        let body: u64 = rand::rng().random_range(100_000_000..1_000_000_000);
        let body = body.to_string();
        let check = luhn_check_digit(&body);
        NoRekening(format!("{body}{check}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NoRekening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Compares with the digits as text (an account number as a test or a client spells it).
impl PartialEq<str> for NoRekening {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NoRekening {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for NoRekening {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<NoRekening> for String {
    fn eq(&self, other: &NoRekening) -> bool {
        *self == other.0
    }
}

impl FromStr for NoRekening {
    type Err = Malformed;

    fn from_str(text: &str) -> Result<Self, Malformed> {
        NoRekening::parse(text)
    }
}

impl<'de> serde::Deserialize<'de> for NoRekening {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NoRekening::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Stored as `text`; a stored value that is not well formed fails to decode.
impl Type<Postgres> for NoRekening {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl PgHasArrayType for NoRekening {
    fn array_type_info() -> PgTypeInfo {
        <String as PgHasArrayType>::array_type_info()
    }

    fn array_compatible(ty: &PgTypeInfo) -> bool {
        <String as PgHasArrayType>::array_compatible(ty)
    }
}

impl Encode<'_, Postgres> for NoRekening {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

impl Decode<'_, Postgres> for NoRekening {
    fn decode(value: PgValueRef<'_>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Postgres>>::decode(value)?;
        Ok(NoRekening::parse(text)?)
    }
}

/// True when `text` is 10 ASCII digits whose last one is the Luhn check digit of the rest.
pub fn is_well_formed(text: &str) -> bool {
    text.len() == LENGTH
        && text.bytes().all(|b| b.is_ascii_digit())
        && luhn_check_digit(&text[..LENGTH - 1]) == text.as_bytes()[LENGTH - 1] - b'0'
}

/// The digit that makes `digits` followed by it pass the Luhn check.
fn luhn_check_digit(digits: &str) -> u8 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    ((10 - (sum % 10)) % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_are_well_formed_and_spread() {
        let numbers: std::collections::HashSet<NoRekening> =
            (0..1000).map(|_| NoRekening::generate()).collect();
        assert!(numbers.len() > 995, "random, not sequential");
        for n in &numbers {
            assert!(is_well_formed(n.as_str()), "{n}");
            assert_ne!(n.as_str().as_bytes()[0], b'0');
        }
    }

    #[test]
    fn luhn_matches_known_values() {
        // 7992739871 is the textbook Luhn example (check digit 3 on 799273987 + 1).
        assert_eq!(luhn_check_digit("7992739871"), 3);
        assert!(is_well_formed("1234567897"));
    }

    #[test]
    fn a_single_changed_digit_is_detected() {
        let n = NoRekening::generate();
        for position in 0..LENGTH {
            let mut bytes = n.as_str().as_bytes().to_vec();
            bytes[position] = if bytes[position] == b'9' {
                b'0'
            } else {
                bytes[position] + 1
            };
            let changed = String::from_utf8(bytes).expect("digits");
            assert!(!is_well_formed(&changed), "{n} -> {changed}");
        }
        assert!(!is_well_formed("12345"));
        assert!(!is_well_formed("12345678a7"));
    }
}
