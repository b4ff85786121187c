//! PIN authentication, brute-force lockout and the throttle of failed attempts.
//!
//! Every request:
//! 1. is admitted by its client address's failure bucket ([`FailureThrottle`]) or refused
//!    (429) before anything else, even with a right PIN (otherwise the credential cache would
//!    answer guesses for free);
//! 2. reads the account's PIN hash and lock state from the database, so a lock set by any
//!    replica applies at once, even to a credential held in the cache. The read is made after
//!    the request arrived, but concurrent requests share it: one `= ANY($1)` query per batch
//!    (`crate::batching`), not one per request;
//! 3. accepts a credential found in the [`CredentialCache`](super::credential_cache::CredentialCache)
//!    without running argon2;
//! 4. otherwise is admitted by the service-wide failure bucket (or refused, 429), takes a
//!    token from both buckets, waits (bounded) for an argon2 slot, reserves an attempt slot in
//!    the database *before* running argon2 (`gagal_pin + 1`, refused once `max_failures`
//!    slots are taken), so however many wrong PINs arrive in parallel, at most
//!    `max_failures` are ever verified before the account locks;
//! 5. on a correct PIN resets the counter, caches the credential and gives the tokens back;
//!    on a wrong PIN keeps the slot and the tokens as a failure and locks the account when
//!    the limit is reached.
//!
//! **Equal work**: an unknown account, a locked one, or one whose attempt slots are all taken
//! goes through the same statements (the slot reservation and the lock check, which find
//! nothing to change) and an argon2 verification against a dummy hash made once per process
//! with the same parameters, so the time of a refusal does not tell whether the account
//! exists. Only malformed account numbers or PINs are refused at once: they reveal nothing.
//!
//! argon2 runs at most `argon2_max_concurrency` at once; a request that cannot get a slot
//! within `argon2_queue_timeout` is refused (503) instead of queueing, before it took an
//! attempt slot.
//!
//! Identical credentials verified concurrently share one argon2 run (single flight), so a
//! burst of requests from one customer costs one verification, not one each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::Rng;
use tokio::sync::{OnceCell, Semaphore};
use tracing::Instrument;

use super::credential_cache::{CredentialCache, Fingerprint};
use super::store::Credential;
use super::throttle::{ClientKey, FailureThrottle, Throttled};
use super::{AuthError, AuthPolicy, CredentialStore, WRONG_CREDENTIALS, is_well_formed_pin};
use crate::batching::{BatchSettings, Batcher};
use crate::metrics::{AUTH_ARGON2_REJECTED, AUTH_FAILURES, AUTH_PIN_VERIFY_DURATION};
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
    throttle: FailureThrottle,
    policy: AuthPolicy,
}

/// The hash verified when there is no real one to verify (unknown account, locked account, no
/// attempt slot left): an argon2id PHC string of a random PIN under a random salt with the
/// default parameters, the same as every stored hash, made once per process.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let pin = format!("{:06}", rand::rng().random_range(0..1_000_000_u32));
        match Argon2::default().hash_password(pin.as_bytes()) {
            Ok(hash) => hash.to_string(),
            // Hashing with the default parameters does not fail; should it ever, the verify
            // of this string fails at once (a parse error) and the refusal is a 500, which
            // is loud rather than silently cheap.
            Err(_) => String::new(),
        }
    })
}

/// Makes the dummy hash now, on a thread of its own (off the async runtime), so the first
/// refusal does not pay for it; were the thread not started, it is made on first use.
fn prepare_dummy_hash() {
    let _ = std::thread::Builder::new()
        .name("argon2-dummy".into())
        .spawn(|| {
            dummy_hash();
        });
}

/// Which hash a verification runs against.
enum Against {
    Stored(String),
    Dummy,
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
        prepare_dummy_hash();
        Authenticator {
            store,
            cache: CredentialCache::new(policy.cache_capacity, policy.cache_ttl),
            in_flight: Mutex::new(HashMap::new()),
            reader: OnceLock::new(),
            argon2_permits: Semaphore::new(policy.argon2_max_concurrency.max(1)),
            throttle: FailureThrottle::new(
                policy.fail_per_client,
                policy.fail_service,
                policy.fail_max_clients,
            ),
            policy,
        }
    }

    /// Succeeds, with the account, when `pin` is the PIN of `no_rekening` and the account is
    /// not locked. `None` is a claimed account number that is not even well formed: refused
    /// like a wrong PIN. `client` is the peer address (none when unknown: no per-client
    /// throttle). Counted in `auth_failures_total` when refused; traced as the span
    /// `auth.verify`.
    pub async fn authenticate(
        &self,
        client: Option<std::net::IpAddr>,
        no_rekening: Option<NoRekening>,
        pin: &str,
    ) -> Result<NoRekening, AuthError> {
        let client = client.map(ClientKey::of);
        self.throttle.admit_client(client).map_err(throttled)?;
        let result = self
            .check(client, no_rekening, pin)
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
        client: Option<ClientKey>,
        no_rekening: Option<NoRekening>,
        pin: &str,
    ) -> Result<NoRekening, AuthError> {
        // Malformed values can never be right and say nothing about which accounts exist;
        // they are refused without touching the database and without counting as an attempt.
        let Some(no_rekening) = no_rekening.filter(|_| is_well_formed_pin(pin)) else {
            return Err(wrong());
        };
        let credential = self.read_credential(&no_rekening).await?;
        let fingerprint = match &credential {
            Some(credential) if !credential.locked => {
                let fingerprint =
                    self.cache
                        .fingerprint(no_rekening.as_str(), pin, &credential.pin_hash);
                if self.cache.contains(&fingerprint) {
                    if credential.gagal_pin > 0 {
                        self.store.reset_gagal_pin(&no_rekening).await?;
                    }
                    return Ok(no_rekening);
                }
                fingerprint
            }
            // Unknown or locked: the same work as a wrong PIN (see the module comment).
            _ => self.cache.fingerprint(no_rekening.as_str(), pin, ""),
        };
        self.throttle.admit_service().map_err(throttled)?;
        match self
            .verify_once(fingerprint, client, &no_rekening, pin)
            .await?
        {
            Verdict::Valid => Ok(no_rekening),
            Verdict::WrongPin { .. } | Verdict::Locked if credential.is_none() => Err(wrong()),
            Verdict::WrongPin { locked: true } | Verdict::Locked => Err(AuthError::Locked),
            Verdict::WrongPin { locked: false } => Err(wrong()),
        }
    }

    /// One verification per distinct credential at a time (single flight). The request that
    /// runs it takes a token from `client`'s and the service's failure buckets first and
    /// gives them back unless it fails; a request that shared it is charged when it fails.
    async fn verify_once(
        &self,
        fingerprint: Fingerprint,
        client: Option<ClientKey>,
        no_rekening: &NoRekening,
        pin: &str,
    ) -> Result<Verdict, AuthError> {
        let cell = {
            let mut in_flight = self.lock_in_flight();
            in_flight.entry(fingerprint).or_default().clone()
        };
        let ran_it = AtomicBool::new(false);
        let verdict = cell
            .get_or_try_init(|| async {
                ran_it.store(true, Ordering::Relaxed);
                self.throttle.take_client(client).map_err(throttled)?;
                if let Err(refusal) = self.throttle.take_service() {
                    self.throttle.give_back_client(client);
                    return Err(throttled(refusal));
                }
                let verdict = self.verify_uncached(no_rekening, pin).await;
                if !is_failure(&verdict) {
                    self.throttle.give_back_client(client);
                    self.throttle.give_back_service();
                }
                verdict
            })
            .await
            .copied();
        {
            let mut in_flight = self.lock_in_flight();
            if in_flight
                .get(&fingerprint)
                .is_some_and(|current| Arc::ptr_eq(current, &cell))
            {
                in_flight.remove(&fingerprint);
            }
        }
        if is_failure(&verdict) && !ran_it.load(Ordering::Relaxed) {
            self.throttle.charge_client(client);
            self.throttle.charge_service();
        }
        verdict
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
        // The argon2 slot first: a request refused for want of one (503) has not taken an
        // attempt slot, so a busy service never counts a customer's PIN as wrong.
        let started = std::time::Instant::now();
        let permit = self.argon2_permit().await?;
        let max = self.policy.max_failures;
        let Some(pin_hash) = self.store.reserve_pin_attempt(no_rekening, max).await? else {
            // Unknown account, locked account, or every slot taken (failures plus
            // verifications in flight): the same work as a wrong PIN, then lock if due.
            self.verify_pin(started, permit, pin, Against::Dummy)
                .await?;
            self.store
                .lock_if_exhausted(no_rekening, max, self.policy.lockout)
                .await?;
            return Ok(Verdict::Locked);
        };
        if self
            .verify_pin(started, permit, pin, Against::Stored(pin_hash.clone()))
            .await?
        {
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

    /// Runs one verification in the slot `_permit` (`started`: when the wait for it began).
    async fn verify_pin(
        &self,
        started: std::time::Instant,
        _permit: tokio::sync::SemaphorePermit<'_>,
        pin: &str,
        against: Against,
    ) -> Result<bool, AuthError> {
        let pin = pin.to_owned();
        let verified = tokio::task::spawn_blocking(move || {
            let pin_hash = match &against {
                Against::Stored(pin_hash) => pin_hash.as_str(),
                Against::Dummy => dummy_hash(),
            };
            match Argon2::default().verify_password(pin.as_bytes(), pin_hash) {
                // A dummy verification never admits anyone (its PIN is unknown, and random).
                Ok(()) => Ok(matches!(against, Against::Stored(_))),
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

    /// A slot to run argon2 in, waited for at most `argon2_queue_timeout`.
    async fn argon2_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, AuthError> {
        let timeout = self.policy.argon2_queue_timeout;
        match tokio::time::timeout(timeout, self.argon2_permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(closed)) => Err(AuthError::Internal(anyhow::anyhow!(
                "argon2 semaphore closed: {closed}"
            ))),
            Err(_elapsed) => {
                metrics::counter!(AUTH_ARGON2_REJECTED).increment(1);
                Err(AuthError::Busy {
                    retry_after: timeout.max(std::time::Duration::from_secs(1)),
                })
            }
        }
    }

    fn lock_in_flight(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Fingerprint, Arc<OnceCell<Verdict>>>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn wrong() -> AuthError {
    AuthError::Unauthenticated {
        remark: WRONG_CREDENTIALS,
    }
}

fn throttled(refusal: Throttled) -> AuthError {
    AuthError::Throttled {
        retry_after: refusal.retry_after,
    }
}

/// A verification that found the credentials wrong (or the account locked or unknown).
fn is_failure(verdict: &Result<Verdict, AuthError>) -> bool {
    matches!(verdict, Ok(Verdict::WrongPin { .. } | Verdict::Locked))
}
