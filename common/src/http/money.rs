//! Amounts in responses are JSON numbers written from the exact decimal text (never through a
//! float), always with two decimals: `{"saldo": 12345678901234567.89}`.

use rust_decimal::Decimal;
use serde::Serializer;
use serde_json::value::RawValue;

/// `#[serde(serialize_with = "money::number")]`
pub fn number<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let mut exact = value.round_dp(2);
    exact.rescale(2);
    let raw = RawValue::from_string(exact.to_string()).map_err(serde::ser::Error::custom)?;
    serde::Serialize::serialize(&raw, serializer)
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
