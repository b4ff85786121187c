//! PIN authentication, lockout and the account-access rule, shared by transaksi and mutasi.
//!
//! Both services read the credential table `nasabah` in transaksi's database (mutasi through a
//! role granted only the columns it needs, see `migrations/transaksi`), so a customer's
//! wrong PINs count once across both services and a lock set by either applies to both at
//! once. Neither service calls the other to authenticate.
//!
//! * [`Authenticator`]: verify `(no_rekening, pin)` with argon2id, the credential cache and the
//!   database-held lockout.
//! * [`authorize`]: may the authenticated account touch the requested one?
//! * [`CredentialStore`]: the SQL on the credential table.

mod authenticator;
pub mod credential_cache;
mod store;
pub mod throttle;

use std::time::Duration;

pub use authenticator::Authenticator;

use crate::no_rekening::NoRekening;
pub use store::{Credential, CredentialStore};

/// The `--auth-*` flags, the same on both services. Set `--auth-max-failures` and
/// `--auth-lockout-secs` alike on transaksi and mutasi: they share one lock per account.
#[derive(Clone, Debug, clap::Args)]
pub struct AuthArgs {
    /// Most verified credentials kept in memory (each entry is a keyed hash, never a PIN).
    #[arg(long, default_value_t = 100_000, global = true)]
    pub auth_cache_capacity: usize,

    /// How long a verified credential is trusted without running argon2 again.
    #[arg(long, default_value_t = 300, global = true)]
    pub auth_cache_ttl_secs: u64,

    /// Consecutive wrong PINs that lock an account.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(i32).range(1..=100), global = true)]
    pub auth_max_failures: i32,

    /// How long a locked account stays locked.
    #[arg(long, default_value_t = 900, global = true)]
    pub auth_lockout_secs: u64,

    /// Most argon2 computations running at once (each uses ~19 MiB and one core); default:
    /// the number of cores this process may use.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub argon2_max_concurrency: Option<u32>,

    /// Longest wait for an argon2 slot; past it the request is answered 503 with Retry-After
    /// (a burst of verifications cannot queue without bound).
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=60_000), global = true)]
    pub argon2_queue_timeout_ms: u64,

    /// Failed authentications allowed per client address (IPv4 address, IPv6 /64) per
    /// minute, on this replica; past it and its burst the client is answered 429. 0: off.
    #[arg(long, default_value_t = 20, global = true)]
    pub auth_fail_per_client_per_min: u32,

    /// Failed authentications a client address may make in a row before its per-minute rate
    /// applies.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub auth_fail_per_client_burst: u32,

    /// Failed authentications per second across this replica; once spent, anything needing
    /// an argon2 verification is answered 429 (cached credentials still pass). 0: off.
    #[arg(long, default_value_t = 50, global = true)]
    pub auth_fail_service_per_sec: u32,

    /// Failed authentications across this replica allowed in a row before its per-second
    /// rate applies.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub auth_fail_service_burst: u32,

    /// Most client addresses the failure throttle tracks (about 64 bytes each).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000), global = true)]
    pub auth_fail_max_clients: u64,
}

impl AuthArgs {
    pub fn policy(&self) -> AuthPolicy {
        AuthPolicy {
            max_failures: self.auth_max_failures,
            lockout: Duration::from_secs(self.auth_lockout_secs),
            cache_capacity: self.auth_cache_capacity,
            cache_ttl: Duration::from_secs(self.auth_cache_ttl_secs),
            argon2_max_concurrency: self
                .argon2_max_concurrency
                .map(|n| n as usize)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
                }),
            argon2_queue_timeout: Duration::from_millis(self.argon2_queue_timeout_ms),
            fail_per_client: throttle::Rate::per_minute(
                self.auth_fail_per_client_per_min,
                self.auth_fail_per_client_burst,
            ),
            fail_service: throttle::Rate::per_second(
                self.auth_fail_service_per_sec,
                self.auth_fail_service_burst,
            ),
            fail_max_clients: usize::try_from(self.auth_fail_max_clients).unwrap_or(usize::MAX),
        }
    }
}

/// Lockout and cache limits.
#[derive(Clone, Debug)]
pub struct AuthPolicy {
    /// Consecutive wrong PINs that lock the account.
    pub max_failures: i32,
    /// How long the lock lasts.
    pub lockout: Duration,
    /// Most cached credentials.
    pub cache_capacity: usize,
    /// How long a cached credential is trusted.
    pub cache_ttl: Duration,
    /// Most argon2 computations at once.
    pub argon2_max_concurrency: usize,
    /// Longest wait for an argon2 slot before answering 503.
    pub argon2_queue_timeout: Duration,
    /// Failed authentications per client address (a zero rate: off).
    pub fail_per_client: throttle::Rate,
    /// Failed authentications across the replica (a zero rate: off).
    pub fail_service: throttle::Rate,
    /// Most client addresses tracked by the failure throttle.
    pub fail_max_clients: usize,
}

/// The remark for every wrong credential (unknown account or wrong PIN alike, so the answer
/// does not reveal which accounts exist).
pub const WRONG_CREDENTIALS: &str = "nomor rekening atau PIN salah";

/// Why a request may not proceed. The texts are the remarks users see.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Missing or malformed credentials, unknown account in the credentials, or wrong PIN.
    #[error("{remark}")]
    Unauthenticated { remark: &'static str },

    /// Too many wrong PINs: the account is locked for a while.
    #[error("rekening terkunci karena terlalu banyak PIN salah; coba lagi nanti")]
    Locked,

    /// The account in the request is registered but is not the authenticated one.
    #[error("tidak berhak mengakses nomor rekening ini")]
    Forbidden,

    /// The account in the request is not registered.
    #[error("nomor rekening tidak dikenali")]
    UnknownRekening,

    /// Too many failed authentications from this client address, or across the service: no
    /// attempt is made; `retry_after` is when the next one may be.
    #[error("terlalu banyak percobaan autentikasi gagal; coba lagi nanti")]
    Throttled { retry_after: Duration },

    /// Every argon2 slot stayed busy for the whole queue timeout: nothing was checked.
    #[error("layanan sedang sibuk memeriksa PIN; coba lagi sebentar lagi")]
    Busy { retry_after: Duration },

    /// The credential database cannot be reached or is overloaded.
    #[error("layanan sedang tidak tersedia; coba lagi")]
    Unavailable(#[source] std::sync::Arc<sqlx::Error>),

    /// A failure of our own making (a stored hash that cannot be parsed, a crashed task).
    #[error("terjadi kesalahan internal")]
    Internal(#[source] anyhow::Error),
}

impl From<sqlx::Error> for AuthError {
    fn from(error: sqlx::Error) -> Self {
        AuthError::from(std::sync::Arc::new(error))
    }
}

/// A coalesced read's error is the answer of every request in its batch, hence shared.
impl From<std::sync::Arc<sqlx::Error>> for AuthError {
    fn from(error: std::sync::Arc<sqlx::Error>) -> Self {
        if crate::db::is_unavailable(&error) {
            AuthError::Unavailable(error)
        } else {
            AuthError::Internal(anyhow::Error::new(error))
        }
    }
}

/// `pin`: exactly 6 ASCII digits.
pub fn is_well_formed_pin(pin: &str) -> bool {
    pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Only the account holder may touch an account: another registered account is
/// [`AuthError::Forbidden`] (403), an unregistered one [`AuthError::UnknownRekening`] (400).
pub async fn authorize(
    store: &CredentialStore,
    authenticated: &NoRekening,
    requested: &NoRekening,
) -> Result<(), AuthError> {
    if authenticated == requested {
        return Ok(());
    }
    if store.nasabah_exists(requested).await? {
        Err(AuthError::Forbidden)
    } else {
        Err(AuthError::UnknownRekening)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_six_ascii_digits() {
        assert!(is_well_formed_pin("012345"));
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦", "", "12 456"] {
            assert!(!is_well_formed_pin(bad), "{bad}");
        }
    }
}
