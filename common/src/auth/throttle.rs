//! The throttle of failed authentication: two token buckets of *failures*, one per client
//! address and one for the whole service (this replica). A failed authentication (wrong
//! credentials, an unknown account, a locked account) spends a token from both; a client with
//! an empty bucket is refused (429) before anything else is done for it, and once the service
//! bucket is empty only credentials found in the credential cache still pass (anything that
//! would need an argon2 verification is refused).
//!
//! A request is first *admitted* (a token is left; nothing taken). The request that runs an
//! argon2 verification takes its tokens *before* running it (as the database reserves an
//! attempt slot) and gives them back when the attempt turns out not to be a failure, so
//! however many distinct guesses a client sends at once, at most its bucket's tokens are ever
//! verified; requests that share another's verification (the same credential at the same
//! time) are charged a token each only when it fails. A request cancelled midway keeps its
//! tokens: disconnecting cannot buy free verifications.
//!
//! A client is its address: an IPv4 address, or the /64 network of an IPv6 address (one
//! customer's line typically has a whole /64). X-Forwarded-For is not read (anyone can write
//! it). The state is in this process's memory: it is never "unavailable", a restart empties
//! it, and with N replicas an address (and the service as a whole) gets N times the limits.
//! At most `max_clients` addresses are tracked (about 64 bytes each); when the map is full,
//! idle ones (bucket full again) are dropped first, then arbitrary ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::metrics::AUTH_THROTTLED;

/// A refill rate and a burst. A zero rate turns the bucket off.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens (failures) given back per second.
    pub per_sec: f64,
    /// Most tokens held: the failures allowed in a row after a quiet period.
    pub burst: f64,
}

impl Rate {
    pub fn per_minute(per_min: u32, burst: u32) -> Self {
        Rate {
            per_sec: f64::from(per_min) / 60.0,
            burst: f64::from(burst.max(1)),
        }
    }

    pub fn per_second(per_sec: u32, burst: u32) -> Self {
        Rate {
            per_sec: f64::from(per_sec),
            burst: f64::from(burst.max(1)),
        }
    }

    fn is_off(&self) -> bool {
        self.per_sec <= 0.0
    }
}

/// Which bucket refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Client,
    Service,
}

impl Scope {
    pub fn label(self) -> &'static str {
        match self {
            Scope::Client => "client",
            Scope::Service => "service",
        }
    }
}

/// A refusal: which bucket, and when its next token is back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub scope: Scope,
    pub retry_after: Duration,
}

/// A client as the throttle counts it: an IPv4 address or an IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(std::net::Ipv4Addr),
    V6Net64(u64),
}

impl ClientKey {
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => ClientKey::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4),
                None => ClientKey::V6Net64((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::V4(v4) => write!(f, "{v4}"),
            ClientKey::V6Net64(net) => {
                let address = std::net::Ipv6Addr::from(u128::from(*net) << 64);
                write!(f, "{address}/64")
            }
        }
    }
}

/// What a request does with a bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Use {
    /// Is a token left? (Refused when not.)
    Peek,
    /// Take one, refused when none is left.
    Take,
    /// Take one if any is left; never refused.
    Charge,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: &Rate, now: Instant) -> Self {
        Bucket {
            tokens: rate.burst,
            updated: now,
        }
    }

    fn refill(&mut self, rate: &Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_sec).min(rate.burst);
        self.updated = now;
    }

    /// Looks at, takes, or charges one token; a refusal says how long until one is back.
    fn apply(&mut self, rate: &Rate, usage: Use, now: Instant) -> Result<(), Duration> {
        self.refill(rate, now);
        if usage == Use::Charge {
            self.tokens = (self.tokens - 1.0).max(0.0);
            return Ok(());
        }
        if self.tokens >= 1.0 {
            if usage == Use::Take {
                self.tokens -= 1.0;
            }
            Ok(())
        } else {
            let seconds = (1.0 - self.tokens) / rate.per_sec;
            Err(Duration::from_secs_f64(seconds.clamp(0.0, 86_400.0)))
        }
    }

    fn give_back(&mut self, rate: &Rate, now: Instant) {
        self.refill(rate, now);
        self.tokens = (self.tokens + 1.0).min(rate.burst);
    }

    fn is_full(&mut self, rate: &Rate, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= rate.burst
    }
}

/// A bucket with its throttling episode: one per client, one for the service.
struct Tracked {
    bucket: Bucket,
    /// Refused since its last admitted request: its WARNING line was written.
    throttled: bool,
}

impl Tracked {
    fn full(rate: &Rate, now: Instant) -> Self {
        Tracked {
            bucket: Bucket::full(rate, now),
            throttled: false,
        }
    }

    /// [`Bucket::apply`], keeping the episode: an admitted request (not a charge) ends it; a
    /// refusal says how long until a token is back and whether it is the episode's first.
    fn apply(&mut self, rate: &Rate, usage: Use, now: Instant) -> Result<(), (Duration, bool)> {
        match self.bucket.apply(rate, usage, now) {
            Ok(()) => {
                if usage != Use::Charge {
                    self.throttled = false;
                }
                Ok(())
            }
            Err(retry_after) => {
                let first = !self.throttled;
                self.throttled = true;
                Err((retry_after, first))
            }
        }
    }
}

/// The two buckets. Cheap to consult (one short mutex section each).
pub struct FailureThrottle {
    per_client: Rate,
    service: Rate,
    max_clients: usize,
    clients: Mutex<HashMap<ClientKey, Tracked>>,
    service_state: Mutex<Tracked>,
}

impl FailureThrottle {
    pub fn new(per_client: Rate, service: Rate, max_clients: usize) -> Self {
        let now = Instant::now();
        FailureThrottle {
            per_client,
            service,
            max_clients: max_clients.max(1),
            clients: Mutex::new(HashMap::new()),
            service_state: Mutex::new(Tracked::full(&service, now)),
        }
    }

    /// Whether `client` may make an attempt now (a token is left); takes nothing. Refused
    /// when its bucket is empty (the first refusal of an episode writes a WARNING line). A
    /// request with no known peer address (only when the router is served by something other
    /// than `http::serve`) is not throttled per client.
    pub fn admit_client(&self, client: Option<ClientKey>) -> Result<(), Throttled> {
        self.client_at(client, Use::Peek, Instant::now())
    }

    /// Takes a token from `client`'s bucket for a verification about to run; refused like
    /// [`FailureThrottle::admit_client`].
    pub fn take_client(&self, client: Option<ClientKey>) -> Result<(), Throttled> {
        self.client_at(client, Use::Take, Instant::now())
    }

    /// Counts a failure that took no token before (it shared another request's
    /// verification): a token if one is left, never a refusal.
    pub fn charge_client(&self, client: Option<ClientKey>) {
        let _ = self.client_at(client, Use::Charge, Instant::now());
    }

    /// Gives back the token of a verification that was not a failure.
    pub fn give_back_client(&self, client: Option<ClientKey>) {
        let Some(client) = client.filter(|_| !self.per_client.is_off()) else {
            return;
        };
        let now = Instant::now();
        if let Some(entry) = self.lock_clients().get_mut(&client) {
            entry.bucket.give_back(&self.per_client, now);
        }
    }

    /// Whether the service may run another verification that could fail; takes nothing.
    pub fn admit_service(&self) -> Result<(), Throttled> {
        self.service_at(Use::Peek, Instant::now())
    }

    /// Takes a token from the service bucket for a verification about to run.
    pub fn take_service(&self) -> Result<(), Throttled> {
        self.service_at(Use::Take, Instant::now())
    }

    /// Counts a failure that took no service token before.
    pub fn charge_service(&self) {
        let _ = self.service_at(Use::Charge, Instant::now());
    }

    pub fn give_back_service(&self) {
        if self.service.is_off() {
            return;
        }
        let now = Instant::now();
        self.lock_service().bucket.give_back(&self.service, now);
    }

    /// Tracked client addresses (for tests).
    pub fn tracked_clients(&self) -> usize {
        self.lock_clients().len()
    }

    fn client_at(
        &self,
        client: Option<ClientKey>,
        usage: Use,
        now: Instant,
    ) -> Result<(), Throttled> {
        let Some(client) = client.filter(|_| !self.per_client.is_off()) else {
            return Ok(());
        };
        let rate = self.per_client;
        let mut clients = self.lock_clients();
        if !clients.contains_key(&client) {
            if usage == Use::Peek {
                // Not tracked: its bucket is full.
                return Ok(());
            }
            if clients.len() >= self.max_clients {
                self.make_room(&mut clients, now);
            }
        }
        let entry = clients
            .entry(client)
            .or_insert_with(|| Tracked::full(&rate, now));
        let applied = entry.apply(&rate, usage, now);
        drop(clients);
        applied.map_err(|(retry_after, first)| {
            refused(Scope::Client, retry_after, Some(client), first)
        })
    }

    fn service_at(&self, usage: Use, now: Instant) -> Result<(), Throttled> {
        if self.service.is_off() {
            return Ok(());
        }
        let applied = self.lock_service().apply(&self.service, usage, now);
        applied.map_err(|(retry_after, first)| refused(Scope::Service, retry_after, None, first))
    }

    /// Drops idle clients (bucket full again: forgetting them changes nothing); if that frees
    /// less than a tenth of the map, arbitrary ones too, so that the next tenth of new clients
    /// are inserted without another sweep.
    fn make_room(&self, clients: &mut HashMap<ClientKey, Tracked>, now: Instant) {
        let rate = self.per_client;
        clients.retain(|_, entry| !entry.bucket.is_full(&rate, now));
        let target = self.max_clients - self.max_clients.div_ceil(10);
        if clients.len() > target {
            let excess = clients.len() - target;
            let victims: Vec<ClientKey> = clients.keys().take(excess).copied().collect();
            for victim in victims {
                clients.remove(&victim);
            }
        }
    }

    fn lock_clients(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Tracked>> {
        // Every change under this lock is a single arithmetic update or insert/remove: a
        // poisoned lock still guards a consistent map.
        self.clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_service(&self) -> std::sync::MutexGuard<'_, Tracked> {
        self.service_state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts the refusal and, on the first of an episode, writes the WARNING line.
fn refused(
    scope: Scope,
    retry_after: Duration,
    client: Option<ClientKey>,
    first: bool,
) -> Throttled {
    metrics::counter!(AUTH_THROTTLED, "scope" => scope.label()).increment(1);
    let retry_after = retry_after.max(Duration::from_secs(1));
    if first {
        match client {
            Some(client) => tracing::warn!(
                client = %client,
                scope = scope.label(),
                retry_after_secs = retry_after.as_secs(),
                "failed authentications throttled"
            ),
            None => tracing::warn!(
                scope = scope.label(),
                retry_after_secs = retry_after.as_secs(),
                "failed authentications throttled"
            ),
        }
    }
    Throttled { scope, retry_after }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl FailureThrottle {
        fn client_at_take(&self, client: Option<ClientKey>, now: Instant) -> Result<(), Throttled> {
            self.client_at(client, Use::Take, now)
        }
        fn service_at_take(&self, now: Instant) -> Result<(), Throttled> {
            self.service_at(Use::Take, now)
        }
    }

    #[test]
    fn admitting_takes_nothing_and_charging_never_refuses() {
        let throttle = FailureThrottle::new(Rate::per_minute(1, 2), Rate::per_second(1, 2), 10);
        let a = key("192.0.2.1");
        for _ in 0..10 {
            assert!(throttle.admit_client(a).is_ok());
            assert!(throttle.admit_service().is_ok());
        }
        assert_eq!(throttle.tracked_clients(), 0, "admitting tracks nobody");
        for _ in 0..5 {
            throttle.charge_client(a);
            throttle.charge_service();
        }
        assert_eq!(
            throttle.admit_client(a).map_err(|t| t.scope),
            Err(Scope::Client)
        );
        assert_eq!(
            throttle.admit_service().map_err(|t| t.scope),
            Err(Scope::Service)
        );
    }

    fn key(address: &str) -> Option<ClientKey> {
        Some(ClientKey::of(address.parse().expect("address")))
    }

    #[test]
    fn a_client_gets_its_burst_then_one_token_per_period() {
        let throttle = FailureThrottle::new(Rate::per_minute(6, 3), Rate::per_second(0, 1), 10);
        let start = Instant::now();
        let a = key("192.0.2.1");
        for _ in 0..3 {
            assert!(throttle.client_at_take(a, start).is_ok());
        }
        let refused = throttle.client_at_take(a, start).expect_err("empty");
        assert_eq!(refused.scope, Scope::Client);
        assert_eq!(refused.retry_after, Duration::from_secs(10));
        // Another address is unaffected.
        assert!(throttle.client_at_take(key("192.0.2.2"), start).is_ok());
        // Ten seconds later one token is back, and only one.
        let later = start + Duration::from_secs(10);
        assert!(throttle.client_at_take(a, later).is_ok());
        assert!(throttle.client_at_take(a, later).is_err());
    }

    #[test]
    fn given_back_tokens_do_not_count() {
        let throttle = FailureThrottle::new(Rate::per_minute(1, 2), Rate::per_second(0, 1), 10);
        let a = key("192.0.2.1");
        for _ in 0..100 {
            assert!(throttle.take_client(a).is_ok());
            throttle.give_back_client(a);
        }
    }

    #[test]
    fn ipv6_clients_are_their_64_network() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::7"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_eq!(
            key("2001:db8:1:2::1").expect("key").to_string(),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn the_service_bucket_is_shared_and_off_at_zero() {
        let throttle = FailureThrottle::new(Rate::per_minute(0, 1), Rate::per_second(2, 4), 10);
        let start = Instant::now();
        for _ in 0..4 {
            assert!(throttle.service_at_take(start).is_ok());
        }
        let refused = throttle.service_at_take(start).expect_err("empty");
        assert_eq!(refused.scope, Scope::Service);
        assert_eq!(refused.retry_after, Duration::from_secs(1));
        assert!(
            throttle
                .service_at_take(start + Duration::from_millis(500))
                .is_ok()
        );
        // The per-client bucket is off: no client is tracked or refused.
        for _ in 0..100 {
            assert!(throttle.take_client(key("192.0.2.1")).is_ok());
        }
        assert_eq!(throttle.tracked_clients(), 0);
        let off = FailureThrottle::new(Rate::per_minute(0, 1), Rate::per_second(0, 1), 10);
        for _ in 0..100 {
            assert!(off.take_service().is_ok());
        }
    }

    #[test]
    fn the_client_map_stays_bounded() {
        let throttle = FailureThrottle::new(Rate::per_minute(1, 5), Rate::per_second(0, 1), 100);
        let now = Instant::now();
        for n in 0..10_000_u32 {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(n));
            let _ = throttle.client_at_take(Some(ClientKey::of(address)), now);
            assert!(throttle.tracked_clients() <= 100);
        }
    }

    #[test]
    fn no_peer_address_is_not_throttled_per_client() {
        let throttle = FailureThrottle::new(Rate::per_minute(1, 1), Rate::per_second(0, 1), 10);
        for _ in 0..10 {
            assert!(throttle.take_client(None).is_ok());
        }
    }
}
