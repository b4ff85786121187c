//! PIN authentication and brute-force lockout.
//!
//! Every request:
//! 1. reads the account's PIN hash and lock state from the database, so a lock set by any
//!    replica applies at once, even to a credential held in the cache. The read is made after
//!    the request arrived, but concurrent requests share it: one `= ANY($1)` query per batch
//!    (`crate::batching`), not one per request;
//! 2. accepts a credential found in the [`CredentialCache`](super::credential_cache::CredentialCache)
//!    without running argon2;
//! 3. otherwise reserves an attempt slot in the database *before* running argon2
//!    (`gagal_pin + 1`, refused once `max_failures` slots are taken), so however many wrong PINs
//!    arrive in parallel, at most `max_failures` are ever verified before the account locks;
//! 4. on a correct PIN resets the counter and caches the credential; on a wrong PIN keeps the
//!    slot as a failure and locks the account when the limit is reached.
//!
//! Identical credentials verified concurrently share one argon2 run (single flight), so a
//! burst of requests from one customer costs one verification, not one each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::{OnceCell, Semaphore};
use tracing::Instrument;

use super::credential_cache::{CredentialCache, Fingerprint};
use super::store::Credential;
use super::{AuthError, AuthPolicy, CredentialStore, WRONG_CREDENTIALS, is_well_formed_pin};
use crate::batching::{BatchSettings, Batcher};
use crate::metrics::{AUTH_FAILURES, AUTH_PIN_VERIFY_DURATION};
use crate::no_rekening::NoRekening;

/// The outcome of one argon2 verification, shared by everyone waiting on it.
#[derive(Clone, Copy, Debug)]
enum Verdict {
    Valid,
    WrongPin { locked: bool },
    Locked,
}

pub struct Authenticator {
    store: CredentialStore,
    cache: CredentialCache,
    in_flight: Mutex<HashMap<Fingerprint, Arc<OnceCell<Verdict>>>>,
    /// Coalesces the per-request credential reads; started at the first request.
    reader: OnceLock<Batcher<NoRekening, CredentialRead>>,
    argon2_permits: Semaphore,
    policy: AuthPolicy,
}

/// One coalesced credential read's answer for one request.
type CredentialRead = Result<Option<Credential>, Arc<sqlx::Error>>;

/// Credential reads: up to 256 accounts per query, two queries in flight, no waiting for
/// company (a read only batches what queued while the previous ones ran).
const CREDENTIAL_READS: BatchSettings = BatchSettings {
    max_batch_size: 256,
    max_wait: Duration::ZERO,
    workers: 2,
};

async fn read_many(store: &CredentialStore, requested: Vec<NoRekening>) -> Vec<CredentialRead> {
    let mut unique: Vec<&NoRekening> = requested.iter().collect();
    unique.sort_unstable();
    unique.dedup();
    match store.credentials(&unique).await {
        Ok(found) => requested
            .iter()
            .map(|no_rekening| Ok(found.get(no_rekening).cloned()))
            .collect(),
        Err(error) => {
            let error = Arc::new(error);
            requested.iter().map(|_| Err(error.clone())).collect()
        }
    }
}

impl Authenticator {
    pub fn new(store: CredentialStore, policy: AuthPolicy) -> Self {
        Authenticator {
            store,
            cache: CredentialCache::new(policy.cache_capacity, policy.cache_ttl),
            in_flight: Mutex::new(HashMap::new()),
            reader: OnceLock::new(),
            argon2_permits: Semaphore::new(policy.argon2_max_concurrency.max(1)),
            policy,
        }
    }

    /// Succeeds, with the account, when `pin` is the PIN of `no_rekening` and the account is
    /// not locked. `None` is a claimed account number that is not even well formed: refused
    /// like a wrong PIN. Counted in `auth_failures_total` when refused; traced as the span
    /// `auth.verify`.
    pub async fn authenticate(
        &self,
        no_rekening: Option<NoRekening>,
        pin: &str,
    ) -> Result<NoRekening, AuthError> {
        let result = self
            .check(no_rekening, pin)
            .instrument(tracing::info_span!("auth.verify"))
            .await;
        let reason = match &result {
            Err(AuthError::Unauthenticated { .. }) => "wrong_credentials",
            Err(AuthError::Locked) => "locked",
            _ => return result,
        };
        metrics::counter!(AUTH_FAILURES, "reason" => reason).increment(1);
        result
    }

    async fn check(
        &self,
        no_rekening: Option<NoRekening>,
        pin: &str,
    ) -> Result<NoRekening, AuthError> {
        // Malformed values can never be right; they are refused without touching the
        // database and without counting as an attempt.
        let wrong = || AuthError::Unauthenticated {
            remark: WRONG_CREDENTIALS,
        };
        let Some(no_rekening) = no_rekening.filter(|_| is_well_formed_pin(pin)) else {
            return Err(wrong());
        };
        let Some(credential) = self.read_credential(&no_rekening).await? else {
            return Err(wrong());
        };
        if credential.locked {
            return Err(AuthError::Locked);
        }
        let fingerprint = self
            .cache
            .fingerprint(no_rekening.as_str(), pin, &credential.pin_hash);
        if self.cache.contains(&fingerprint) {
            if credential.gagal_pin > 0 {
                self.store.reset_gagal_pin(&no_rekening).await?;
            }
            return Ok(no_rekening);
        }

        let cell = {
            let mut in_flight = self.lock_in_flight();
            in_flight.entry(fingerprint).or_default().clone()
        };
        let verdict = cell
            .get_or_try_init(|| self.verify_uncached(&no_rekening, pin))
            .await;
        {
            let mut in_flight = self.lock_in_flight();
            if in_flight
                .get(&fingerprint)
                .is_some_and(|current| Arc::ptr_eq(current, &cell))
            {
                in_flight.remove(&fingerprint);
            }
        }
        match *verdict? {
            Verdict::Valid => Ok(no_rekening),
            Verdict::WrongPin { locked: true } | Verdict::Locked => Err(AuthError::Locked),
            Verdict::WrongPin { locked: false } => Err(wrong()),
        }
    }

    /// The account's credentials, read after this call started (shared with concurrent
    /// requests).
    async fn read_credential(
        &self,
        no_rekening: &NoRekening,
    ) -> Result<Option<Credential>, AuthError> {
        let reader = self.reader.get_or_init(|| {
            let store = self.store.clone();
            Batcher::start(CREDENTIAL_READS, move |requested: Vec<NoRekening>| {
                let store = store.clone();
                async move { read_many(&store, requested).await }
            })
        });
        match reader.submit(no_rekening.clone()).await {
            Ok(read) => Ok(read?),
            Err(stopped) => Err(AuthError::Internal(stopped.into())),
        }
    }

    async fn verify_uncached(
        &self,
        no_rekening: &NoRekening,
        pin: &str,
    ) -> Result<Verdict, AuthError> {
        let max = self.policy.max_failures;
        let Some(pin_hash) = self.store.reserve_pin_attempt(no_rekening, max).await? else {
            // Every slot is taken (failures plus verifications in flight): lock now.
            self.store
                .lock_if_exhausted(no_rekening, max, self.policy.lockout)
                .await?;
            return Ok(Verdict::Locked);
        };
        if self.verify_pin(pin, &pin_hash).await? {
            self.store.reset_gagal_pin(no_rekening).await?;
            self.cache
                .insert(self.cache.fingerprint(no_rekening.as_str(), pin, &pin_hash));
            Ok(Verdict::Valid)
        } else {
            let locked = self
                .store
                .lock_if_exhausted(no_rekening, max, self.policy.lockout)
                .await?;
            Ok(Verdict::WrongPin { locked })
        }
    }

    /// Hashes a new PIN as an argon2id PHC string (random salt, default parameters).
    pub async fn hash_pin(&self, pin: String) -> Result<String, AuthError> {
        let _permit = self.argon2_permit().await?;
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(pin.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| AuthError::Internal(anyhow::anyhow!("argon2 hashing failed: {e}")))
        })
        .instrument(tracing::info_span!("auth.argon2_hash"))
        .await
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("argon2 task failed: {e}")))?
    }

    async fn verify_pin(&self, pin: &str, pin_hash: &str) -> Result<bool, AuthError> {
        let started = std::time::Instant::now();
        let _permit = self.argon2_permit().await?;
        let pin = pin.to_owned();
        let pin_hash = pin_hash.to_owned();
        let verified = tokio::task::spawn_blocking(move || {
            match Argon2::default().verify_password(pin.as_bytes(), pin_hash.as_str()) {
                Ok(()) => Ok(true),
                Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
                Err(e) => Err(AuthError::Internal(anyhow::anyhow!(
                    "stored PIN hash cannot be verified: {e}"
                ))),
            }
        })
        .instrument(tracing::info_span!("auth.argon2_verify"))
        .await
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("argon2 task failed: {e}")))?;
        metrics::histogram!(AUTH_PIN_VERIFY_DURATION).record(started.elapsed().as_secs_f64());
        verified
    }

    async fn argon2_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AuthError> {
        self.argon2_permits
            .acquire()
            .await
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("argon2 semaphore closed: {e}")))
    }

    fn lock_in_flight(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Fingerprint, Arc<OnceCell<Verdict>>>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
