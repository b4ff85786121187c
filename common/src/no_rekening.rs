//! Account numbers: 10 digits, the first 9 drawn from the operating system's random source
//! (first digit 1-9), the last a Luhn check digit so a mistyped digit is caught before the
//! database is asked. Not sequential, so one customer's number tells nothing about another's.

use rand::Rng;

/// Digits in an account number.
pub const LENGTH: usize = 10;

/// A fresh random account number. Uniqueness is enforced by the database's primary key; the
/// caller retries on the (one in ~900 million per existing account) collision.
pub fn generate() -> String {
    let body: u64 = rand::rng().random_range(100_000_000..1_000_000_000);
    let body = body.to_string();
    let check = luhn_check_digit(&body);
    format!("{body}{check}")
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
        let numbers: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert!(numbers.len() > 995, "random, not sequential");
        for n in &numbers {
            assert!(is_well_formed(n), "{n}");
            assert_ne!(n.as_bytes()[0], b'0');
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
        let n = generate();
        for position in 0..LENGTH {
            let mut bytes = n.clone().into_bytes();
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
