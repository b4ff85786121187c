//! Recently verified credentials, so argon2 (tens of milliseconds of CPU) runs once per
//! credential per TTL instead of once per request. Modelled on Elasticsearch's realm cache:
//!
//! * An entry is a keyed hash, HMAC-SHA256 under a random per-process key, of
//!   (account number, PIN, the stored PIN hash). The PIN itself is never kept, and an entry
//!   made under an old PIN hash can never match after the PIN changes.
//! * Only successful verifications are inserted; a wrong PIN never enters the cache.
//! * Entries expire after a TTL and the map never holds more than `capacity` entries.
//! * Lockout is not decided here: the caller reads the lock state from the database on every
//!   request, so a lock set by any replica takes effect at once even for cached credentials.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The keyed hash of one credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

pub struct CredentialCache {
    hmac_key: [u8; 32],
    capacity: usize,
    ttl: Duration,
    entries: Mutex<HashMap<Fingerprint, Instant>>,
}

impl CredentialCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        let mut hmac_key = [0_u8; 32];
        rand::rng().fill_bytes(&mut hmac_key);
        CredentialCache {
            hmac_key,
            capacity,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn fingerprint(&self, no_rekening: &str, pin: &str, pin_hash: &str) -> Fingerprint {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.hmac_key) {
            Ok(mac) => mac,
            // HMAC accepts keys of any length; a 32-byte key cannot be refused.
            Err(_) => unreachable!("HMAC-SHA256 accepts a 32-byte key"),
        };
        for part in [no_rekening, pin, pin_hash] {
            // Length-prefixed, so ("12", "3") and ("1", "23") never collide.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Fingerprint(mac.finalize().into_bytes().into())
    }

    /// True when this credential was verified less than a TTL ago.
    pub fn contains(&self, fingerprint: &Fingerprint) -> bool {
        let now = Instant::now();
        let mut entries = self.lock();
        match entries.get(fingerprint) {
            Some(expires_at) if *expires_at > now => true,
            Some(_) => {
                entries.remove(fingerprint);
                false
            }
            None => false,
        }
    }

    /// Records a successful verification.
    pub fn insert(&self, fingerprint: Fingerprint) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&fingerprint) {
            entries.retain(|_, expires_at| *expires_at > now);
            // Still full of live entries: drop arbitrary ones (hash order) to make room.
            let excess = (entries.len() + 1).saturating_sub(self.capacity);
            let victims: Vec<Fingerprint> = entries.keys().take(excess).copied().collect();
            for victim in victims {
                entries.remove(&victim);
            }
        }
        entries.insert(fingerprint, now + self.ttl);
        debug_assert!(entries.len() <= self.capacity);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Fingerprint, Instant>> {
        // A panic while holding this lock cannot leave the map inconsistent (every operation
        // is a single insert/remove), so a poisoned lock is still safe to use.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_credential_matches() {
        let cache = CredentialCache::new(10, Duration::from_secs(60));
        let good = cache.fingerprint("1234567897", "123456", "$argon2id$h1");
        cache.insert(good);
        assert!(cache.contains(&good));
        assert!(!cache.contains(&cache.fingerprint("1234567897", "123457", "$argon2id$h1")));
        assert!(!cache.contains(&cache.fingerprint("1234567897", "123456", "$argon2id$h2")));
        assert!(!cache.contains(&cache.fingerprint("1234567898", "123456", "$argon2id$h1")));
        assert!(!cache.contains(&cache.fingerprint("123456789", "7123456", "$argon2id$h1")));
    }

    #[test]
    fn keys_differ_between_processes() {
        let a = CredentialCache::new(10, Duration::from_secs(60));
        let b = CredentialCache::new(10, Duration::from_secs(60));
        assert_ne!(a.fingerprint("1", "2", "3"), b.fingerprint("1", "2", "3"));
    }

    #[test]
    fn entries_expire() {
        let cache = CredentialCache::new(10, Duration::from_millis(1));
        let f = cache.fingerprint("1234567897", "123456", "h");
        cache.insert(f);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!cache.contains(&f));
        assert!(cache.is_empty());
    }

    #[test]
    fn never_exceeds_capacity() {
        let cache = CredentialCache::new(100, Duration::from_secs(60));
        for i in 0..1000 {
            cache.insert(cache.fingerprint(&i.to_string(), "123456", "h"));
            assert!(cache.len() <= 100);
        }
        let newest = cache.fingerprint("999", "123456", "h");
        assert!(cache.contains(&newest), "the newest entry is kept");
    }

    #[test]
    fn zero_capacity_disables_caching() {
        let cache = CredentialCache::new(0, Duration::from_secs(60));
        let f = cache.fingerprint("1", "2", "3");
        cache.insert(f);
        assert!(!cache.contains(&f));
    }
}
