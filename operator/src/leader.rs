//! Leader election on a coordination.k8s.io/v1 Lease, so that of several operator replicas
//! exactly one reconciles at a time.
//!
//! The algorithm is client-go's: a candidate takes the Lease when it is free or when its record
//! has not changed for `lease_duration` *as measured by the candidate's own clock* (so clock
//! skew between nodes does not matter); all writes are optimistic (`resourceVersion`), so two
//! candidates cannot both win. The leader renews every `renew_interval` and gives up (stops
//! reconciling) when it could not renew within `renew_deadline`, which is shorter than
//! `lease_duration`: the old leader has stopped before a new one can start.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tracing::{info, warn};

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub name: String,
    pub namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl LeaseConfig {
    pub fn new(name: &str, namespace: &str, identity: &str) -> Self {
        LeaseConfig {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("lost the leader Lease {0}: could not renew it within the renew deadline")]
    Lost(String),
}

pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The Lease's resourceVersion when we last saw it change, and when (our clock).
    observed: Mutex<Option<(String, Instant)>>,
}

fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: Mutex::new(None),
        }
    }

    pub fn identity(&self) -> &str {
        &self.config.identity
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// Whether the record with this resourceVersion has stood still for a whole lease duration.
    fn expired(&self, resource_version: &str) -> bool {
        let mut observed = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        match observed.as_ref() {
            Some((rv, since)) if rv == resource_version => {
                since.elapsed() >= self.config.lease_duration
            }
            _ => {
                *observed = Some((resource_version.to_owned(), Instant::now()));
                false
            }
        }
    }

    /// One attempt to acquire or renew. `Ok(true)`: we hold the Lease now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let me = self.config.identity.clone();
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me),
                    lease_duration_seconds: Some(self.lease_seconds()),
                    acquire_time: Some(now()),
                    renew_time: Some(now()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let rv = lease.metadata.resource_version.clone().unwrap_or_default();
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if holder == me {
            spec.renew_time = Some(now());
            spec.lease_duration_seconds = Some(self.lease_seconds());
        } else if holder.is_empty() || self.expired(&rv) {
            spec.holder_identity = Some(me);
            spec.acquire_time = Some(now());
            spec.renew_time = Some(now());
            spec.lease_duration_seconds = Some(self.lease_seconds());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        } else {
            return Ok(false);
        }
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until this candidate holds the Lease. Returns when the winning attempt *started*:
    /// the Lease was written no earlier, so counting the renew deadline from there is safe.
    pub async fn acquire(&self) -> Instant {
        loop {
            let attempt = Instant::now();
            match tokio::time::timeout(self.config.renew_deadline, self.try_acquire_or_renew())
                .await
            {
                Ok(Ok(true)) => {
                    info!(lease = %self.config.name, identity = %self.config.identity, "acquired the leader Lease");
                    return attempt;
                }
                Ok(Ok(false)) => {}
                Ok(Err(error)) => warn!(%error, "cannot read or write the leader Lease"),
                Err(_) => warn!(lease = %self.config.name, "acquiring the leader Lease timed out"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Renews until a renewal fails for longer than the renew deadline; then returns. Each
    /// attempt is cut off at the deadline, so a hanging API call cannot keep a stale leader
    /// reconciling past the point where another replica may take over.
    pub async fn keep_renewing(&self, acquired: Instant) -> LeaderError {
        let lost = || LeaderError::Lost(self.config.name.clone());
        let mut last_renewed = acquired;
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            let remaining = self
                .config
                .renew_deadline
                .saturating_sub(last_renewed.elapsed());
            if remaining.is_zero() {
                return lost();
            }
            let attempt = Instant::now();
            match tokio::time::timeout(remaining, self.try_acquire_or_renew()).await {
                Ok(Ok(true)) => last_renewed = attempt,
                Ok(Ok(false)) => {
                    warn!(lease = %self.config.name, "another replica holds the leader Lease");
                    return lost();
                }
                Ok(Err(error)) => warn!(%error, "could not renew the leader Lease"),
                Err(_) => {
                    warn!(lease = %self.config.name, "renewing the leader Lease timed out");
                    return lost();
                }
            }
        }
    }

    /// Gives the Lease up (on shutdown) so that another replica can take over at once.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        if let Err(error) = self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            warn!(%error, "could not release the leader Lease");
        }
    }

    /// Runs `work` only while holding the Lease: waits to acquire it, then runs `work` and the
    /// renewal side by side. Returns `Ok` when `work` finishes (shutdown; the Lease is
    /// released), `Err` as soon as leadership is lost (`work` is dropped at once).
    /// A shutdown before the Lease is acquired returns `Ok` without running `work`.
    pub async fn run<F, Fut>(
        &self,
        on_leader: impl Fn(bool),
        shutdown: crate::Shutdown,
        work: F,
    ) -> Result<(), LeaderError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()>,
    {
        let acquired = tokio::select! {
            at = self.acquire() => at,
            () = shutdown.wait() => return Ok(()),
        };
        on_leader(true);
        let result = tokio::select! {
            () = work() => Ok(()),
            lost = self.keep_renewing(acquired) => Err(lost),
        };
        on_leader(false);
        if result.is_ok() {
            self.release().await;
        }
        result
    }
}
