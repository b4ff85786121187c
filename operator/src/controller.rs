//! The reconciler: `LedgerDeployment` in, owned children applied with server-side apply,
//! status and Events out. Errors are returned to the runtime and retried with exponential
//! backoff; nothing here panics on what the API server answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller, Error as RunError};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing::Instrument;
use tracing::{info, warn};

use crate::Shutdown;
use crate::builders::secrets::{self, App, SecretRef};
use crate::builders::{
    BuildError, Component, Instance, LABEL_INSTANCE, LABEL_MANAGED_BY, MANAGED_BY, apps, jaeger,
    network, postgres, redis,
};
use crate::crd::LedgerDeployment;
use crate::metrics::Metrics;
use crate::status::{self, Observed, Workload};

/// Field manager of everything the operator applies.
pub const FIELD_MANAGER: &str = "bukubesar-operator";
/// Field manager that only adopts existing Secrets (labels and owner reference, never data).
pub const SECRET_META_MANAGER: &str = "bukubesar-operator-secret-metadata";
pub const FINALIZER: &str = "bukubesar.io/cleanup";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid LedgerDeployment: {0}")]
    Build(#[from] BuildError),
    #[error("{action}: {source}")]
    Kube {
        action: String,
        #[source]
        source: kube::Error,
    },
    #[error("Secret {0} does not exist")]
    MissingSecret(String),
    #[error("Secret {secret} has no key {key}")]
    MissingSecretKey { secret: String, key: String },
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

fn kube_err(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let action = action.into();
    move |source| Error::Kube { action, source }
}

/// What the operator watches.
#[derive(Clone, Debug)]
pub struct Config {
    /// Watch only this namespace; all namespaces when `None`.
    pub namespace: Option<String>,
    /// How long a shutdown waits for in-flight reconciles before giving up on them.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            namespace: None,
            shutdown_grace: Duration::from_secs(15),
        }
    }
}

/// Shared state of all reconciles.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per object, for the backoff.
    failures: Mutex<HashMap<ObjectRef<LedgerDeployment>, u32>>,
}

impl Context {
    pub fn new(client: Client, metrics: Arc<Metrics>, reporter_instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: reporter_instance,
        };
        Context {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            failures: Mutex::new(HashMap::new()),
        }
    }

    async fn event(&self, ld: &LedgerDeployment, type_: EventType, reason: &str, note: String) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &ld.object_ref(&())).await {
            warn!(%error, reason, "could not record a Kubernetes Event");
        }
    }
}

/// The backoff after `failures` consecutive failures: 2 s doubling up to 5 minutes.
pub fn backoff(failures: u32) -> Duration {
    let secs = 2u64.saturating_mul(1u64 << failures.min(16).saturating_sub(1));
    Duration::from_secs(secs.clamp(2, 300))
}

fn scoped<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the controller until `shutdown` (plus at most `config.shutdown_grace`).
pub async fn run(client: Client, config: Config, ctx: Arc<Context>, shutdown: Shutdown) {
    let ns = &config.namespace;
    let grace = config.shutdown_grace;
    let ours = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));
    let controller = Controller::new(
        scoped::<LedgerDeployment>(&client, ns),
        watcher::Config::default(),
    )
    .owns(scoped::<Deployment>(&client, ns), ours.clone())
    .owns(scoped::<StatefulSet>(&client, ns), ours.clone())
    .owns(scoped::<Service>(&client, ns), ours.clone())
    .owns(scoped::<ConfigMap>(&client, ns), ours.clone())
    .owns(scoped::<Secret>(&client, ns), ours.clone())
    .owns(scoped::<NetworkPolicy>(&client, ns), ours)
    .graceful_shutdown_on(shutdown.clone().wait())
    .run(reconcile, error_policy, ctx)
    .for_each(|result| async move {
        match result {
            Ok((object, _)) => info!(
                name = %object.name,
                namespace = object.namespace.as_deref().unwrap_or_default(),
                "reconciled"
            ),
            Err(RunError::ReconcilerFailed(error, object)) => warn!(
                name = %object.name,
                namespace = object.namespace.as_deref().unwrap_or_default(),
                %error,
                "reconcile failed"
            ),
            Err(RunError::QueueError(error)) => {
                warn!(%error, "watching the API server failed; retrying with backoff")
            }
            Err(error) => warn!(%error, "controller error"),
        }
    });
    // The runtime's graceful shutdown does not end while a watch is failing (e.g. the CRD is
    // not installed, or RBAC forbids the list); never let that block the process's exit.
    tokio::select! {
        () = controller => info!("controller stopped"),
        () = async {
            shutdown.wait().await;
            tokio::time::sleep(grace).await;
        } => warn!(grace_secs = grace.as_secs(), "controller did not stop in time; leaving it"),
    }
}

/// Entry point of one reconcile: finalizer handling, metrics, backoff bookkeeping.
/// One reconcile, traced as the span `reconcile` (one trace per reconcile).
pub async fn reconcile(ld: Arc<LedgerDeployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    let span = tracing::info_span!(
        parent: None,
        "reconcile",
        otel.status_code = tracing::field::Empty,
        name = %ld.name_any(),
        namespace = ld.namespace().as_deref().unwrap_or_default(),
        generation = ld.metadata.generation.unwrap_or_default()
    );
    let result = reconcile_traced(ld, ctx).instrument(span.clone()).await;
    if result.is_err() {
        span.record("otel.status_code", "error");
    }
    result
}

async fn reconcile_traced(ld: Arc<LedgerDeployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = ld
        .namespace()
        .ok_or(BuildError::MissingMetadata("namespace"))?;
    let api: Api<LedgerDeployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = finalizer(&api, FINALIZER, ld.clone(), |event| async {
        match event {
            FinalizerEvent::Apply(ld) => apply(&ld, &ctx).await,
            FinalizerEvent::Cleanup(ld) => cleanup(&ld, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics.observe(started.elapsed(), result.is_err());
    if result.is_ok() {
        ctx.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ObjectRef::from_obj(&*ld));
    }
    result
}

/// On failure: log, and retry after an exponentially growing delay.
pub fn error_policy(ld: Arc<LedgerDeployment>, error: &Error, ctx: Arc<Context>) -> Action {
    let mut failures = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
    let count = failures.entry(ObjectRef::from_obj(&*ld)).or_insert(0);
    *count = count.saturating_add(1);
    let delay = backoff(*count);
    warn!(
        name = %ld.name_any(),
        namespace = ?ld.namespace(),
        %error,
        failures = *count,
        retry_in_secs = delay.as_secs(),
        "reconcile failed; retrying"
    );
    Action::requeue(delay)
}

async fn ssa<K>(api: &Api<K>, obj: &K) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    let name = obj.meta().name.clone().unwrap_or_default();
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(obj),
    )
    .await
    .map_err(kube_err(format!("applying {kind} {name}")))?;
    Ok(())
}

async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).into_owned();
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(kube_err(format!("deleting {kind} {name}"))(e)),
    }
}

/// Creates each generated Secret if it does not exist (never overwrites: a new password would
/// lock the services out of their data), and (re)adopts existing ones by applying only their
/// labels and owner reference. Returns the names of the Secrets created now.
async fn ensure_secrets(inst: &Instance<'_>, api: &Api<Secret>) -> Result<Vec<String>, Error> {
    let mut created = Vec::new();
    for secret in secrets::generated_secrets(inst) {
        let name = secret.metadata.name.clone().unwrap_or_default();
        match api.create(&PostParams::default(), &secret).await {
            Ok(_) => created.push(name.clone()),
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(kube_err(format!("creating Secret {name}"))(e)),
        }
        let metadata_only = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "labels": secret.metadata.labels,
                "ownerReferences": secret.metadata.owner_references,
            }
        });
        api.patch(
            &name,
            &PatchParams::apply(SECRET_META_MANAGER).force(),
            &Patch::Apply(&metadata_only),
        )
        .await
        .map_err(kube_err(format!("adopting Secret {name}")))?;
    }
    Ok(created)
}

/// sha256 over every Secret value the pods of `app` consume.
async fn secret_hash(inst: &Instance<'_>, api: &Api<Secret>, app: App) -> Result<String, Error> {
    let mut hasher = Sha256::new();
    let mut cache: HashMap<String, Secret> = HashMap::new();
    for SecretRef { secret, key } in secrets::app_secret_refs(inst, app) {
        if !cache.contains_key(&secret) {
            let found = api
                .get_opt(&secret)
                .await
                .map_err(kube_err(format!("reading Secret {secret}")))?
                .ok_or_else(|| Error::MissingSecret(secret.clone()))?;
            cache.insert(secret.clone(), found);
        }
        let value = cache
            .get(&secret)
            .and_then(|s| s.data.as_ref())
            .and_then(|d| d.get(&key))
            .ok_or_else(|| Error::MissingSecretKey {
                secret: secret.clone(),
                key: key.clone(),
            })?;
        hasher.update(secret.as_bytes());
        hasher.update([0]);
        hasher.update(key.as_bytes());
        hasher.update([0]);
        hasher.update(&value.0);
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    Ok(digest.iter().take(16).map(|b| format!("{b:02x}")).collect())
}

/// Makes the cluster match the spec, then writes the status.
async fn apply(ld: &LedgerDeployment, ctx: &Context) -> Result<Action, Error> {
    let result = apply_children(ld, ctx).await;
    let error = result.as_ref().err().map(ToString::to_string);
    let change = write_status(ld, ctx, error.as_deref()).await?;
    match result {
        Ok(Pass { created, warnings }) => {
            for warning in warnings {
                ctx.event(ld, EventType::Warning, "StorageChangeIgnored", warning)
                    .await;
            }
            if !created.is_empty() {
                ctx.event(
                    ld,
                    EventType::Normal,
                    "CredentialsGenerated",
                    format!(
                        "generated Secrets with random credentials: {}",
                        created.join(", ")
                    ),
                )
                .await;
            }
            match change {
                ReadyChange::Gained => {
                    ctx.event(
                        ld,
                        EventType::Normal,
                        "Ready",
                        "every component reports ready replicas".into(),
                    )
                    .await
                }
                ReadyChange::Lost(why) => ctx.event(ld, EventType::Warning, "NotReady", why).await,
                ReadyChange::None => {}
            }
            // Children's changes trigger reconciles through the watches; this is a safety net
            // (and picks up rotated external Secrets).
            Ok(Action::requeue(Duration::from_secs(300)))
        }
        Err(error) => {
            ctx.event(ld, EventType::Warning, "ReconcileFailed", error.to_string())
                .await;
            Err(error)
        }
    }
}

/// Applies every child.
async fn apply_children(ld: &LedgerDeployment, ctx: &Context) -> Result<Pass, Error> {
    let inst = Instance::new(ld)?;
    let client = &ctx.client;
    let ns = inst.namespace.as_str();
    let secrets_api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let network_policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), ns);

    let mut pass = Pass {
        created: ensure_secrets(&inst, &secrets_api).await?,
        warnings: Vec::new(),
    };

    if inst.spec.postgres.external.is_none() {
        ssa(&configmaps, &postgres::init_configmap(&inst)).await?;
        ssa(&services, &postgres::service(&inst)).await?;
        apply_statefulset(&statefulsets, postgres::statefulset(&inst), &mut pass).await?;
    }
    if inst.spec.redis.external.is_none() {
        ssa(&services, &redis::service(&inst)).await?;
        apply_statefulset(&statefulsets, redis::statefulset(&inst), &mut pass).await?;
    }
    // Before the pods: their /metrics ports are never open to all, not even for a moment.
    ssa(&network_policies, &network::network_policy(&inst)).await?;
    for app in [App::Transaksi, App::Mutasi] {
        let hash = secret_hash(&inst, &secrets_api, app).await?;
        ssa(&services, &apps::service(&inst, app)).await?;
        ssa(&deployments, &apps::deployment(&inst, app, &hash)).await?;
    }
    let jaeger_name = inst.child_name(Component::Jaeger);
    if inst.spec.jaeger.enabled {
        ssa(&services, &jaeger::service(&inst)).await?;
        ssa(&deployments, &jaeger::deployment(&inst)).await?;
    } else {
        delete_if_present(&deployments, &jaeger_name).await?;
        delete_if_present(&services, &jaeger_name).await?;
    }
    Ok(pass)
}

/// What one successful pass over the children has to report.
struct Pass {
    /// Generated Secrets created in this pass.
    created: Vec<String>,
    /// Parts of the spec that could not be applied (Warning Events).
    warnings: Vec<String>,
}

/// Applies a StatefulSet, keeping the claim templates of an existing one (they are immutable).
async fn apply_statefulset(
    api: &Api<StatefulSet>,
    desired: StatefulSet,
    pass: &mut Pass,
) -> Result<(), Error> {
    let name = desired.metadata.name.clone().unwrap_or_default();
    let existing = api
        .get_opt(&name)
        .await
        .map_err(kube_err(format!("reading StatefulSet {name}")))?;
    let (desired, storage_kept) = postgres::keep_existing_claims(desired, existing.as_ref());
    if storage_kept {
        pass.warnings.push(format!(
            "the storage of StatefulSet {name} cannot change after creation; kept its current \
             claim template (resize the PVC data-{name}-0 itself if its StorageClass allows)"
        ));
    }
    ssa(api, &desired).await
}

/// The components this spec runs, with their workloads as the API server reports them.
async fn observe(inst: &Instance<'_>, client: &Client) -> Result<Vec<Observed>, Error> {
    let ns = inst.namespace.as_str();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let mut observed = Vec::new();
    for component in Component::ALL {
        let name = inst.child_name(component);
        let workload = match component {
            Component::Postgres if inst.spec.postgres.external.is_some() => continue,
            Component::Redis if inst.spec.redis.external.is_some() => continue,
            Component::Jaeger if !inst.spec.jaeger.enabled => continue,
            Component::Postgres | Component::Redis => statefulsets
                .get_opt(&name)
                .await
                .map_err(kube_err(format!("reading StatefulSet {name}")))?
                .map(|s| Workload::from_statefulset(&s)),
            Component::Transaksi | Component::Mutasi | Component::Jaeger => deployments
                .get_opt(&name)
                .await
                .map_err(kube_err(format!("reading Deployment {name}")))?
                .map(|d| Workload::from_deployment(&d)),
        };
        observed.push((component, workload));
    }
    Ok(observed)
}

/// How this reconcile moved the `Ready` condition.
enum ReadyChange {
    /// It turned True.
    Gained,
    /// It turned False; the condition's message says why.
    Lost(String),
    None,
}

/// Computes and (if it changed) writes the status; says how `Ready` moved.
async fn write_status(
    ld: &LedgerDeployment,
    ctx: &Context,
    error: Option<&str>,
) -> Result<ReadyChange, Error> {
    let inst = Instance::new(ld)?;
    let observed = observe(&inst, &ctx.client).await?;
    let previous = ld.status.as_ref();
    let new = status::compute(status::Inputs {
        generation: ld.metadata.generation,
        observed: &observed,
        error,
        previous,
        transaksi_url: apps::url(&inst, App::Transaksi),
        mutasi_url: apps::url(&inst, App::Mutasi),
        now: Time(Timestamp::now()),
    });
    if previous == Some(&new) {
        return Ok(ReadyChange::None);
    }
    let was_ready = previous.is_some_and(status::is_ready);
    let api: Api<LedgerDeployment> = Api::namespaced(ctx.client.clone(), &inst.namespace);
    api.patch_status(
        &inst.name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": new })),
    )
    .await
    .map_err(kube_err(format!("writing status of {}", inst.name)))?;
    Ok(match (was_ready, status::is_ready(&new)) {
        (false, true) => ReadyChange::Gained,
        (true, false) => ReadyChange::Lost(status::ready_message(&new)),
        _ => ReadyChange::None,
    })
}

/// Deletion. By default the PersistentVolumeClaims (the data) and the generated credential
/// Secrets (the only key to that data) are kept: the Secrets lose their owner reference so the
/// garbage collector leaves them, and a LedgerDeployment of the same name adopts both again.
/// With `spec.deletePersistentVolumeClaims: true` both are deleted.
async fn cleanup(ld: &LedgerDeployment, ctx: &Context) -> Result<Action, Error> {
    let inst = Instance::new(ld)?;
    let ns = inst.namespace.as_str();
    let secrets_api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let names: Vec<String> = secrets::generated_secrets(&inst)
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    if inst.spec.delete_persistent_volume_claims {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
        let selector = format!(
            "{LABEL_INSTANCE}={},{LABEL_MANAGED_BY}={MANAGED_BY}",
            inst.name
        );
        let claims = pvcs
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(kube_err("listing PersistentVolumeClaims"))?;
        for claim in claims {
            delete_if_present(&pvcs, &claim.name_any()).await?;
        }
        for name in &names {
            delete_if_present(&secrets_api, name).await?;
        }
        ctx.event(
            ld,
            EventType::Normal,
            "DataDeleted",
            "deleted the PersistentVolumeClaims and generated Secrets (deletePersistentVolumeClaims: true)".into(),
        )
        .await;
    } else {
        for name in &names {
            let orphan = json!({ "metadata": { "ownerReferences": null } });
            match secrets_api
                .patch(name, &PatchParams::default(), &Patch::Merge(&orphan))
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(kube_err(format!("orphaning Secret {name}"))(e)),
            }
        }
        ctx.event(
            ld,
            EventType::Normal,
            "DataRetained",
            "kept the PersistentVolumeClaims and credential Secrets".into(),
        )
        .await;
    }
    info!(name = %inst.name, namespace = %inst.namespace, "cleanup finished");
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(9), Duration::from_secs(300));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(300));
    }
}
