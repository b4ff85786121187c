//! Idempotency keys for deposits, withdrawals and transfers.
//!
//! A client may send `Idempotency-Key` (1-255 visible ASCII characters). Keys are scoped to
//! the authenticated account. The first request with a key stores its business outcome in the
//! same database transaction as the money; a retry with the same key and the same request gets
//! that outcome again and posts nothing; the same key with a different request is refused.
//! Keys are kept at least 24 hours (`--idempotency-retention-hours`).

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use sha2::{Digest, Sha256};

use super::AppError;
use super::nominal::Nominal;

/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A validated `Idempotency-Key` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    pub fn parse(value: &[u8]) -> Result<Self, AppError> {
        let invalid = || {
            AppError::invalid(
                "Idempotency-Key",
                "Idempotency-Key harus 1-255 karakter ASCII terlihat (tanpa spasi)",
            )
        };
        if value.is_empty() || value.len() > MAX_KEY_LEN {
            return Err(invalid());
        }
        if !value.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(invalid());
        }
        // All bytes are ASCII, so this cannot fail; map the impossible error anyway.
        String::from_utf8(value.to_vec())
            .map(Key)
            .map_err(|_| invalid())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests "the same" for a key: the operation, the account and the amount
/// (by value, so `10` and `10.00` are the same request).
pub fn request_fingerprint(jenis: Jenis, no_rekening: &NoRekening, nominal: Nominal) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(jenis.code().as_bytes());
    hasher.update([0]);
    hasher.update(no_rekening.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(nominal.value().normalize().to_string().as_bytes());
    hasher.finalize().to_vec()
}

/// What makes two transfers "the same" for a key: source, destination, amount (by value),
/// `keterangan` and `referensi` (absent differs from any text). A key is scoped to the source,
/// the caller's account; a transfer never matches a deposit or withdrawal.
pub fn transfer_fingerprint(
    asal: &NoRekening,
    tujuan: &NoRekening,
    nominal: Nominal,
    keterangan: Option<&str>,
    referensi: Option<&str>,
) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"transfer\0");
    for part in [asal.as_str(), tujuan.as_str()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(nominal.value().normalize().to_string().as_bytes());
    for text in [keterangan, referensi] {
        match text {
            None => hasher.update([0]),
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
        }
    }
    hasher.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    #[test]
    fn key_rules() {
        assert!(Key::parse(b"a").is_ok());
        assert!(Key::parse(b"7f9c2ba4-e88f-11ec-8ea0-0242ac120002").is_ok());
        assert!(Key::parse(&[b'k'; 255]).is_ok());
        assert!(Key::parse(&[b'k'; 256]).is_err());
        assert!(Key::parse(b"").is_err());
        assert!(Key::parse(b"has space").is_err());
        assert!(Key::parse(b"tab\there").is_err());
        assert!(Key::parse("kunci-é".as_bytes()).is_err());
        assert!(Key::parse(b"line\r\nbreak").is_err());
    }

    #[test]
    fn fingerprint_compares_values_not_spelling() {
        let n = |s: &str| Nominal::new(Decimal::from_str(s).expect("decimal")).expect("valid");
        let no = |s: &str| NoRekening::parse(s).expect("well formed");
        let a = request_fingerprint(Jenis::Tabung, &no("1234567897"), n("10"));
        assert_eq!(
            a,
            request_fingerprint(Jenis::Tabung, &no("1234567897"), n("10.00"))
        );
        assert_ne!(
            a,
            request_fingerprint(Jenis::Tarik, &no("1234567897"), n("10"))
        );
        assert_ne!(
            a,
            request_fingerprint(Jenis::Tabung, &no("1234567897"), n("10.01"))
        );
        assert_ne!(
            a,
            request_fingerprint(Jenis::Tabung, &no("2345678904"), n("10"))
        );
        let (one, two) = (no("1234567897"), no("2345678904"));
        let t = transfer_fingerprint(&one, &two, n("10"), Some("a"), None);
        assert_eq!(
            t,
            transfer_fingerprint(&one, &two, n("10.0"), Some("a"), None)
        );
        for other in [
            transfer_fingerprint(&two, &one, n("10"), Some("a"), None),
            transfer_fingerprint(&one, &two, n("10"), None, Some("a")),
            transfer_fingerprint(&one, &two, n("10"), Some("a"), Some("")),
            transfer_fingerprint(&one, &two, n("10"), None, None),
        ] {
            assert_ne!(t, other);
        }
    }
}
