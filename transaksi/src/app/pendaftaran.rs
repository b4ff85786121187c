//! Registration (`/daftar`): field rules, PIN hashing and account-number allocation.

use bukubesar_common::auth;
use bukubesar_common::no_rekening::NoRekening;

use crate::datastore::nasabah::{InsertNasabahError, NewNasabah};

use super::AppError;
use super::context::App;

/// Most attempts at drawing an unused account number before giving up.
const MAX_NO_REKENING_ATTEMPTS: usize = 8;
/// Most characters in a name.
pub const MAX_NAMA_CHARS: usize = 100;

/// A registration request as received (strings not yet checked).
#[derive(Debug)]
pub struct Request {
    pub nama: String,
    pub nik: String,
    pub no_hp: String,
    pub pin: String,
}

/// Registration fields after validation; `no_hp` is in its canonical local form (`08...`).
#[derive(Debug, PartialEq, Eq)]
pub struct Valid {
    pub nama: String,
    pub nik: String,
    pub no_hp: String,
}

/// `nama`: 1 to 100 characters after trimming, no control characters.
pub fn validate_nama(nama: &str) -> Result<String, AppError> {
    let nama = nama.trim();
    let chars = nama.chars().count();
    if chars == 0 {
        return Err(AppError::invalid("nama", "nama wajib diisi"));
    }
    if chars > MAX_NAMA_CHARS {
        return Err(AppError::invalid("nama", "nama paling banyak 100 karakter"));
    }
    if nama.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "nama",
            "nama tidak boleh berisi karakter kontrol",
        ));
    }
    Ok(nama.to_owned())
}

/// `nik`: exactly 16 digits (Indonesian national identity number).
pub fn validate_nik(nik: &str) -> Result<String, AppError> {
    if nik.len() == 16 && nik.bytes().all(|b| b.is_ascii_digit()) {
        Ok(nik.to_owned())
    } else {
        Err(AppError::invalid("nik", "nik harus 16 digit angka"))
    }
}

/// `no_hp`: 10 to 15 digits, optionally written with the country prefix `+62` instead of the
/// leading `0`. Stored canonically with the leading `0`, so `+62812...` and `0812...` are the
/// same number for the uniqueness rule.
pub fn validate_no_hp(no_hp: &str) -> Result<String, AppError> {
    let invalid = || {
        AppError::invalid(
            "no_hp",
            "no_hp harus 10-15 digit angka, boleh diawali 0 atau +62",
        )
    };
    let canonical = match no_hp.strip_prefix("+62") {
        Some(rest) => format!("0{rest}"),
        None => no_hp.to_owned(),
    };
    if no_hp.starts_with('+') && !no_hp.starts_with("+62") {
        return Err(invalid());
    }
    let digits_ok = canonical.bytes().all(|b| b.is_ascii_digit());
    if digits_ok && (10..=15).contains(&canonical.len()) {
        Ok(canonical)
    } else {
        Err(invalid())
    }
}

/// `pin`: exactly 6 ASCII digits.
pub fn validate_pin(pin: &str) -> Result<(), AppError> {
    if auth::is_well_formed_pin(pin) {
        Ok(())
    } else {
        Err(AppError::invalid("pin", "pin harus tepat 6 digit angka"))
    }
}

/// Checks every field; the first failing one (in the order nama, nik, no_hp, pin) is reported.
pub fn validate(request: &Request) -> Result<Valid, AppError> {
    let nama = validate_nama(&request.nama)?;
    let nik = validate_nik(&request.nik)?;
    let no_hp = validate_no_hp(&request.no_hp)?;
    validate_pin(&request.pin)?;
    Ok(Valid { nama, nik, no_hp })
}

/// Registers a customer and opens an account with saldo 0. Returns the new account number.
pub async fn daftar(app: &App, request: Request) -> Result<NoRekening, AppError> {
    let valid = validate(&request)?;
    let pin_hash = app.authenticator.hash_pin(request.pin).await?;
    for _ in 0..MAX_NO_REKENING_ATTEMPTS {
        let no_rekening = NoRekening::generate();
        let nasabah = NewNasabah {
            no_rekening: &no_rekening,
            nama: &valid.nama,
            nik: &valid.nik,
            no_hp: &valid.no_hp,
            pin_hash: &pin_hash,
        };
        match app.datastore.insert_nasabah(&nasabah).await {
            Ok(()) => {
                super::metrics::registered();
                return Ok(no_rekening);
            }
            Err(InsertNasabahError::NoRekeningTaken) => continue,
            Err(InsertNasabahError::NikTaken) => {
                return Err(AppError::AlreadyRegistered { field: "nik" });
            }
            Err(InsertNasabahError::NoHpTaken) => {
                return Err(AppError::AlreadyRegistered { field: "no_hp" });
            }
            Err(InsertNasabahError::Database(error)) => return Err(error.into()),
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no unused account number after {MAX_NO_REKENING_ATTEMPTS} random draws"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl std::fmt::Debug, AppError>) -> &'static str {
        match result {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn nama_rules() {
        assert_eq!(
            validate_nama("  Budi Santoso ").ok().as_deref(),
            Some("Budi Santoso")
        );
        assert!(
            validate_nama("Ni Luh Putu Ayu Kadek Śrī 日本").is_ok(),
            "unicode is fine"
        );
        assert_eq!(
            validate_nama(&"a".repeat(100)).map(|s| s.len()).ok(),
            Some(100)
        );
        assert_eq!(field_of(validate_nama("")), "nama");
        assert_eq!(field_of(validate_nama("   ")), "nama");
        assert_eq!(field_of(validate_nama(&"a".repeat(101))), "nama");
        assert_eq!(field_of(validate_nama("Budi\u{0}")), "nama");
        // 100 multi-byte characters are 100 characters, not 300 bytes.
        assert!(validate_nama(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn nik_rules() {
        assert!(validate_nik("3201234567890001").is_ok());
        for bad in [
            "320123456789000",
            "32012345678900012",
            "320123456789000a",
            "",
            "３２０１２３４５６７８９０００１",
        ] {
            assert_eq!(field_of(validate_nik(bad)), "nik", "{bad}");
        }
    }

    #[test]
    fn no_hp_rules_and_canonical_form() {
        assert_eq!(
            validate_no_hp("081234567890").ok().as_deref(),
            Some("081234567890")
        );
        assert_eq!(
            validate_no_hp("+6281234567890").ok().as_deref(),
            Some("081234567890")
        );
        assert_eq!(
            validate_no_hp("0812345678").ok().as_deref(),
            Some("0812345678")
        );
        assert!(validate_no_hp("081234567890123").is_ok(), "15 digits");
        for bad in [
            "081234567",
            "0812345678901234",
            "+1234567890123",
            "0812-3456-7890",
            "",
            "+62",
            "08123456789a",
        ] {
            assert_eq!(field_of(validate_no_hp(bad)), "no_hp", "{bad}");
        }
    }

    #[test]
    fn pin_rules() {
        assert!(validate_pin("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６", " 12345"] {
            assert_eq!(field_of(validate_pin(bad).map(|_| ())), "pin", "{bad}");
        }
    }
}
