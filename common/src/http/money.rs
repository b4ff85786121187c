//! Amounts in answers are JSON numbers written from the exact decimal text (never through a
//! float), always with two decimals: `{"saldo": 12345678901234567.89}`; in log lines they are
//! the same text as a string: `"nominal":"150000.50"`.

use rust_decimal::Decimal;
use serde::Serializer;
use serde_json::value::RawValue;

/// An amount as text with exactly two decimals (`150000.5` -> `150000.50`, `7` -> `7.00`).
pub fn text(value: &Decimal) -> String {
    let mut exact = value.round_dp(2);
    exact.rescale(2);
    exact.to_string()
}

/// `#[serde(serialize_with = "money::number")]`
pub fn number<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let raw = RawValue::from_string(text(value)).map_err(serde::ser::Error::custom)?;
    serde::Serialize::serialize(&raw, serializer)
}

/// `#[serde(serialize_with = "money::optional")]`: `null` for none (usually with
/// `skip_serializing_if = "Option::is_none"`).
pub fn optional<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => number(value, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[derive(serde::Serialize)]
    struct Body {
        #[serde(serialize_with = "number")]
        saldo: Decimal,
    }

    #[test]
    fn text_has_exactly_two_decimals() {
        for (input, shown) in [
            ("150000.5", "150000.50"),
            ("50000", "50000.00"),
            ("0.1", "0.10"),
            ("10.500", "10.50"),
            ("999999999999999999.99", "999999999999999999.99"),
        ] {
            let value = Decimal::from_str(input).expect("decimal");
            assert_eq!(text(&value), shown, "{input}");
        }
    }

    #[test]
    fn exact_json_numbers() {
        for (input, json) in [
            ("12345678901234567.89", r#"{"saldo":12345678901234567.89}"#),
            ("0.3", r#"{"saldo":0.30}"#),
            ("0", r#"{"saldo":0.00}"#),
            (
                "999999999999999999.99",
                r#"{"saldo":999999999999999999.99}"#,
            ),
        ] {
            let body = Body {
                saldo: Decimal::from_str(input).expect("decimal"),
            };
            assert_eq!(serde_json::to_string(&body).expect("json"), json);
        }
    }
}
