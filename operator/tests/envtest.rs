//! Integration tests against a real Kubernetes API server (envtest: etcd + kube-apiserver, no
//! kubelet, scheduler or controller-manager: pods never run and nothing garbage-collects).
//!
//! Expects what `scripts/test-operator.sh` sets up: `KUBECONFIG` pointing at the API server
//! with an admin identity, and the Helm chart installed (CRD, ServiceAccount, RBAC). The
//! controller under test runs in this process *impersonating the chart's ServiceAccount*, so
//! every reconcile proves that the chart's RBAC is sufficient.
//!
//! Without an API server these tests FAIL. Only `BUKUBESAR_ALLOW_SKIP_K8S=1` turns that into a
//! loud skip (CI never sets it).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams,
    PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;

mod support;

use operator::builders::{
    Component, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME,
};
use operator::controller::{self, Context, FINALIZER};
use operator::crd::LedgerDeployment;
use operator::leader::{LeaderElector, LeaseConfig};
use operator::metrics::Metrics;
use operator::{Shutdown, ShutdownTrigger};
use support::{SA_NAMESPACE, admin, wait_for};

fn service_account() -> String {
    std::env::var("BUKUBESAR_OPERATOR_SA")
        .unwrap_or_else(|_| format!("system:serviceaccount:{SA_NAMESPACE}:bukubesar-operator"))
}

async fn operator_client(admin: &Client) -> Client {
    client_as(admin, &service_account()).await
}

/// A client acting as the ServiceAccount `sa` (`system:serviceaccount:NS:NAME`).
async fn client_as(admin: &Client, sa: &str) -> Client {
    let sa = sa.to_owned();
    let parts: Vec<&str> = sa.split(':').collect();
    assert_eq!(
        parts.len(),
        4,
        "BUKUBESAR_OPERATOR_SA must be system:serviceaccount:NS:NAME"
    );
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), parts[2]);
    assert!(
        accounts.get_opt(parts[3]).await.unwrap().is_some(),
        "ServiceAccount {sa} does not exist: install the chart first (scripts/test-operator.sh does)"
    );
    let kubeconfig = Kubeconfig::read().unwrap();
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap();
    config.auth_info.impersonate = Some(sa.clone());
    config.auth_info.impersonate_groups = Some(vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{}", parts[2]),
        "system:authenticated".into(),
    ]);
    Client::try_from(config).unwrap()
}

async fn namespace(admin: &Client, prefix: &str) -> String {
    let name = format!(
        "{prefix}-{}",
        operator::builders::secrets::random_password()[..6].to_lowercase()
    );
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    name
}

struct Running {
    trigger: ShutdownTrigger,
    handle: tokio::task::JoinHandle<()>,
    ctx: Arc<Context>,
}

impl Running {
    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("controller did not stop within 20 s")
            .unwrap();
    }
}

/// Runs the controller as the chart's ServiceAccount, watching only `ns`.
async fn start_controller(admin: &Client, ns: &str) -> Running {
    start_controller_as(admin, ns, &service_account()).await
}

async fn start_controller_as(admin: &Client, ns: &str, sa: &str) -> Running {
    let client = client_as(admin, sa).await;
    let ctx = Arc::new(Context::new(
        client.clone(),
        Arc::new(Metrics::new()),
        Some("it".into()),
    ));
    let (trigger, shutdown) = Shutdown::new();
    let config = controller::Config {
        namespace: Some(ns.to_owned()),
        ..Default::default()
    };
    let handle = tokio::spawn(controller::run(client, config, ctx.clone(), shutdown));
    Running {
        trigger,
        handle,
        ctx,
    }
}

async fn create_ledger(admin: &Client, ns: &str, name: &str, spec: serde_json::Value) {
    let api: Api<LedgerDeployment> = Api::namespaced(admin.clone(), ns);
    let obj: LedgerDeployment = serde_json::from_value(json!({
        "apiVersion": "bukubesar.io/v1alpha1",
        "kind": "LedgerDeployment",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

fn condition(ld: &LedgerDeployment, type_: &str) -> Option<(String, String, String)> {
    ld.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn assert_owned_and_labelled(meta: &ObjectMeta, ld: &LedgerDeployment, component: &str) {
    let name = meta.name.as_deref().unwrap_or("?");
    let owners = meta
        .owner_references
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no owner"));
    let owner = &owners[0];
    assert_eq!(owner.kind, "LedgerDeployment", "{name}");
    assert_eq!(Some(&owner.uid), ld.meta().uid.as_ref(), "{name}");
    assert_eq!(owner.controller, Some(true), "{name}");
    let labels = meta
        .labels
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no labels"));
    assert_eq!(labels[LABEL_NAME], "bukubesar", "{name}");
    assert_eq!(labels[LABEL_INSTANCE], ld.name_any(), "{name}");
    assert_eq!(labels[LABEL_COMPONENT], component, "{name}");
    assert_eq!(labels[LABEL_MANAGED_BY], "bukubesar-operator", "{name}");
}

async fn mark_deployment_ready(api: &Api<Deployment>, name: &str) {
    let d = api.get(name).await.unwrap();
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let status = json!({"status": {
        "observedGeneration": d.metadata.generation,
        "replicas": replicas, "readyReplicas": replicas,
        "updatedReplicas": replicas, "availableReplicas": replicas,
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

async fn mark_statefulset_ready(api: &Api<StatefulSet>, name: &str) {
    let s = api.get(name).await.unwrap();
    let status = json!({"status": {
        "observedGeneration": s.metadata.generation,
        "replicas": 1, "readyReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1,
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

fn secret_value(secret: &Secret, key: &str) -> Vec<u8> {
    secret.data.as_ref().unwrap()[key].0.clone()
}

#[tokio::test]
async fn crd_schema_applies_defaults_and_rejects_nonsense() {
    let Some(admin) = admin().await else { return };
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let crd = crds.get("ledgerdeployments.bukubesar.io").await.unwrap();
    let established = crd
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    assert!(established, "CRD not established");

    let ns = namespace(&admin, "schema").await;
    create_ledger(&admin, &ns, "defaults", json!({})).await;
    let api: Api<LedgerDeployment> = Api::namespaced(admin.clone(), &ns);
    let raw: serde_json::Value = serde_json::to_value(api.get("defaults").await.unwrap()).unwrap();
    let spec = &raw["spec"];
    assert_eq!(
        spec["transaksi"]["replicas"], 1,
        "server-side default: {spec}"
    );
    assert_eq!(spec["mutasi"]["logLevel"], "info");
    assert_eq!(spec["postgres"]["image"], "postgres:15-alpine");
    assert_eq!(spec["jaeger"]["enabled"], true);
    assert_eq!(spec["deletePersistentVolumeClaims"], false);

    let invalid = [
        ("negative-replicas", json!({"transaksi": {"replicas": -1}})),
        (
            "bad-storage-size",
            json!({"postgres": {"storage": {"size": "lots"}}}),
        ),
        (
            "bad-cpu",
            json!({"mutasi": {"resources": {"requests": {"cpu": "fast"}}}}),
        ),
        ("bad-log-level", json!({"transaksi": {"logLevel": "loud"}})),
        (
            "bad-port",
            json!({"redis": {"external": {"host": "r", "port": 70000}}}),
        ),
        (
            "external-without-secret",
            json!({"postgres": {"external": {"host": "db"}}}),
        ),
        ("unknown-type", json!({"transaksi": {"replicas": "three"}})),
    ];
    let resource = ApiResource::erase::<LedgerDeployment>(&());
    let raw: Api<DynamicObject> = Api::namespaced_with(admin.clone(), &ns, &resource);
    for (name, spec) in invalid {
        let obj = json!({
            "apiVersion": "bukubesar.io/v1alpha1", "kind": "LedgerDeployment",
            "metadata": {"name": name}, "spec": spec,
        });
        // Sent untyped: some of these do not even fit the Rust type.
        let result = raw
            .create(
                &PostParams::default(),
                &serde_json::from_value::<DynamicObject>(obj).unwrap(),
            )
            .await;
        let result = match result {
            Err(kube::Error::Api(s)) => Err(s.code),
            Ok(_) => Ok(()),
            Err(e) => panic!("{name}: unexpected client error {e}"),
        };
        assert_eq!(
            result,
            Err(422),
            "{name} must be rejected by the API server"
        );
    }
    let long_name = json!({
        "apiVersion": "bukubesar.io/v1alpha1", "kind": "LedgerDeployment",
        "metadata": {"name": "a".repeat(41)}, "spec": {},
    });
    match raw
        .create(
            &PostParams::default(),
            &serde_json::from_value::<DynamicObject>(long_name).unwrap(),
        )
        .await
    {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 422, "41-character name: {s:?}"),
        other => panic!("a 41-character name must be rejected, got {other:?}"),
    }
    let valid = json!({"transaksi": {"replicas": 0, "resources": {"requests": {"cpu": "250m", "memory": "1.5Gi"}}}});
    create_ledger(&admin, &ns, "zero-replicas", valid).await;
}

#[tokio::test]
async fn platform_lifecycle_under_the_charts_service_account() {
    let Some(admin) = admin().await else { return };

    // The impersonation is real: the ServiceAccount cannot do what the chart did not grant.
    let sa = operator_client(&admin).await;
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some("list".into()),
                resource: Some("nodes".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let answer = Api::<SelfSubjectAccessReview>::all(sa.clone())
        .create(&PostParams::default(), &review)
        .await
        .unwrap();
    assert!(
        !answer.status.unwrap().allowed,
        "the operator must not be allowed to list nodes"
    );

    let ns = namespace(&admin, "life").await;
    let running = start_controller(&admin, &ns).await;
    create_ledger(&admin, &ns, "ledger", json!({})).await;

    let lds: Api<LedgerDeployment> = Api::namespaced(admin.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(admin.clone(), &ns);
    let services: Api<Service> = Api::namespaced(admin.clone(), &ns);
    let configmaps: Api<ConfigMap> = Api::namespaced(admin.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), &ns);

    // Every child appears, owned and labelled.
    let ld = wait_for("the finalizer", || async {
        let ld = lds.get("ledger").await.ok()?;
        ld.finalizers().iter().any(|f| f == FINALIZER).then_some(ld)
    })
    .await;
    for (name, component) in [
        ("ledger-transaksi", "transaksi"),
        ("ledger-mutasi", "mutasi"),
        ("ledger-jaeger", "jaeger"),
    ] {
        let d = wait_for(name, || async { deployments.get_opt(name).await.unwrap() }).await;
        assert_owned_and_labelled(&d.metadata, &ld, component);
        let s = wait_for(name, || async { services.get_opt(name).await.unwrap() }).await;
        assert_owned_and_labelled(&s.metadata, &ld, component);
    }
    // Each service's Service has its `metrics` port beside `http`; one NetworkPolicy, owned
    // and labelled, lets only the scrapers reach the metrics ports.
    for (name, metrics) in [("ledger-transaksi", 9180), ("ledger-mutasi", 9181)] {
        let svc = services.get(name).await.unwrap();
        let ports = svc.spec.unwrap().ports.unwrap();
        assert!(
            ports
                .iter()
                .any(|p| p.name.as_deref() == Some("metrics") && p.port == metrics),
            "{name}: no metrics port {metrics}: {ports:?}"
        );
    }
    let policies: Api<NetworkPolicy> = Api::namespaced(admin.clone(), &ns);
    let policy = wait_for("ledger-ingress", || async {
        policies.get_opt("ledger-ingress").await.unwrap()
    })
    .await;
    let owner = &policy.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(Some(&owner.uid), ld.meta().uid.as_ref());
    assert_eq!(owner.controller, Some(true));
    assert_eq!(
        policy.metadata.labels.as_ref().unwrap()[LABEL_MANAGED_BY],
        "bukubesar-operator"
    );
    let ingress = policy.spec.unwrap().ingress.unwrap();
    assert_eq!(ingress.len(), 2, "{ingress:?}");
    assert!(
        ingress[1].from.is_some(),
        "the metrics ports are not open to all"
    );
    for (name, component) in [("ledger-postgres", "postgres"), ("ledger-redis", "redis")] {
        let s = wait_for(name, || async { statefulsets.get_opt(name).await.unwrap() }).await;
        assert_owned_and_labelled(&s.metadata, &ld, component);
        let claim = &s
            .spec
            .as_ref()
            .unwrap()
            .volume_claim_templates
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            claim.metadata.labels.as_ref().unwrap()[LABEL_INSTANCE],
            "ledger"
        );
        let svc = wait_for(name, || async { services.get_opt(name).await.unwrap() }).await;
        assert_owned_and_labelled(&svc.metadata, &ld, component);
        assert_eq!(svc.spec.unwrap().cluster_ip.as_deref(), Some("None"));
    }
    let cm = wait_for("init ConfigMap", || async {
        configmaps.get_opt("ledger-postgres-init").await.unwrap()
    })
    .await;
    assert_owned_and_labelled(&cm.metadata, &ld, "postgres");
    let mut passwords = BTreeMap::new();
    for (name, component) in [
        ("ledger-postgres-superuser", "postgres"),
        ("ledger-transaksi-db", "postgres"),
        ("ledger-mutasi-db", "postgres"),
        ("ledger-redis-auth", "redis"),
    ] {
        let s = wait_for(name, || async { secrets.get_opt(name).await.unwrap() }).await;
        assert_owned_and_labelled(&s.metadata, &ld, component);
        let password = secret_value(&s, "password");
        assert_eq!(password.len(), 32);
        passwords.insert(name, password);
    }

    // Status: observed generation, conditions, per-component readiness, URLs.
    let ld = wait_for("a status", || async {
        let ld = lds.get("ledger").await.ok()?;
        (ld.status.as_ref()?.components.len() == 5).then_some(ld)
    })
    .await;
    let status = ld.status.clone().unwrap();
    assert_eq!(status.observed_generation, ld.metadata.generation);
    assert_eq!(condition(&ld, "Ready").unwrap().0, "False");
    assert_eq!(condition(&ld, "Progressing").unwrap().0, "True");
    assert_eq!(condition(&ld, "Degraded").unwrap().0, "False");
    assert_eq!(
        status.transaksi_url.as_deref(),
        Some(format!("http://ledger-transaksi.{ns}.svc:8080").as_str())
    );

    // A child deleted by hand comes back.
    let old_uid = deployments
        .get("ledger-transaksi")
        .await
        .unwrap()
        .metadata
        .uid;
    deployments
        .delete("ledger-transaksi", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("ledger-transaksi to be re-created", || async {
        let d = deployments.get_opt("ledger-transaksi").await.unwrap()?;
        (d.metadata.uid != old_uid).then_some(())
    })
    .await;

    // A child edited by hand is put back.
    let edit = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "mutasi", "image": "evil/mutasi:latest"}
    ]}}}});
    deployments
        .patch(
            "ledger-mutasi",
            &PatchParams::default(),
            &Patch::Strategic(&edit),
        )
        .await
        .unwrap();
    wait_for("ledger-mutasi image to be restored", || async {
        let d = deployments.get("ledger-mutasi").await.ok()?;
        let image = d.spec?.template.spec?.containers[0].image.clone()?;
        (image == "bukubesar/mutasi:0.1.0").then_some(())
    })
    .await;

    // A spec change rolls out.
    lds.patch(
        "ledger",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"transaksi": {"replicas": 3, "image": "bukubesar/transaksi:0.1.1"}}}),
        ),
    )
    .await
    .unwrap();
    wait_for("transaksi to follow the spec", || async {
        let d = deployments.get("ledger-transaksi").await.ok()?;
        let spec = d.spec?;
        let image = spec.template.spec?.containers[0].image.clone()?;
        (spec.replicas == Some(3) && image == "bukubesar/transaksi:0.1.1").then_some(())
    })
    .await;

    // A storage change cannot reach an existing StatefulSet (immutable claim templates): it is
    // reported as a Warning Event and does not block the rest of the spec.
    lds.patch(
        "ledger",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"spec": {"postgres": {"storage": {"size": "20Gi"}}, "mutasi": {"replicas": 2}}}),
        ),
    )
    .await
    .unwrap();
    wait_for("mutasi to scale despite the storage change", || async {
        let d = deployments.get("ledger-mutasi").await.ok()?;
        (d.spec?.replicas == Some(2)).then_some(())
    })
    .await;
    let sts = statefulsets.get("ledger-postgres").await.unwrap();
    let claim = &sts.spec.unwrap().volume_claim_templates.unwrap()[0];
    let size = &claim
        .spec
        .as_ref()
        .unwrap()
        .resources
        .as_ref()
        .unwrap()
        .requests
        .as_ref()
        .unwrap()["storage"];
    assert_eq!(size.0, "10Gi");
    let events: Api<K8sEvent> = Api::namespaced(admin.clone(), &ns);
    wait_for("a StorageChangeIgnored Warning", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("StorageChangeIgnored")
                    && e.type_.as_deref() == Some("Warning")
            })
            .then_some(())
    })
    .await;
    let ld = lds.get("ledger").await.unwrap();
    assert_eq!(condition(&ld, "Degraded").unwrap().0, "False");

    // A changed credential changes the pod-template hash (which restarts the pods) of the
    // services that use it, and only of those.
    let hash = |d: Deployment| -> Option<String> {
        d.spec?
            .template
            .metadata?
            .annotations?
            .get(operator::builders::SECRET_HASH_ANNOTATION)
            .cloned()
    };
    let transaksi_hash = hash(deployments.get("ledger-transaksi").await.unwrap()).unwrap();
    let mutasi_hash = hash(deployments.get("ledger-mutasi").await.unwrap()).unwrap();
    let rotate = Secret {
        data: Some(BTreeMap::from([(
            "password".to_owned(),
            ByteString(b"rotated-by-hand".to_vec()),
        )])),
        ..Default::default()
    };
    secrets
        .patch(
            "ledger-transaksi-db",
            &PatchParams::default(),
            &Patch::Merge(&rotate),
        )
        .await
        .unwrap();
    wait_for("the transaksi pod template to change", || async {
        let h = hash(deployments.get("ledger-transaksi").await.ok()?)?;
        (h != transaksi_hash).then_some(())
    })
    .await;
    assert_eq!(
        hash(deployments.get("ledger-mutasi").await.unwrap()).unwrap(),
        mutasi_hash
    );

    // Generated credentials are never overwritten by later reconciles.
    for (name, before) in &passwords {
        let now = secret_value(&secrets.get(name).await.unwrap(), "password");
        if *name == "ledger-transaksi-db" {
            assert_eq!(
                now, b"rotated-by-hand",
                "the operator reverted a credential"
            );
        } else {
            assert_eq!(&now, before, "{name} was overwritten");
        }
    }

    // Children report ready -> the LedgerDeployment reports Ready=True.
    for name in ["ledger-transaksi", "ledger-mutasi", "ledger-jaeger"] {
        mark_deployment_ready(&deployments, name).await;
    }
    for name in ["ledger-postgres", "ledger-redis"] {
        mark_statefulset_ready(&statefulsets, name).await;
    }
    let ld = wait_for("Ready=True", || async {
        let ld = lds.get("ledger").await.ok()?;
        (condition(&ld, "Ready")?.0 == "True").then_some(ld)
    })
    .await;
    let status = ld.status.clone().unwrap();
    assert_eq!(status.observed_generation, ld.metadata.generation);
    assert!(status.components.iter().all(|c| c.ready), "{status:?}");
    assert_eq!(condition(&ld, "Progressing").unwrap().0, "False");

    // Events were recorded for the resource.
    let reasons: Vec<String> = wait_for("Events", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        let reasons: Vec<String> = list
            .items
            .iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ledger"))
            .filter_map(|e| e.reason.clone())
            .collect();
        reasons.iter().any(|r| r == "Ready").then_some(reasons)
    })
    .await;
    assert!(
        reasons.iter().any(|r| r == "CredentialsGenerated"),
        "{reasons:?}"
    );
    assert!(running.ctx.metrics.reconciles() > 0);
    assert!(
        running
            .ctx
            .metrics
            .render()
            .contains("bukubesar_operator_reconciles_total")
    );

    // Deletion: the finalizer completes; PVC-less here, the credentials are kept (orphaned).
    lds.delete("ledger", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the LedgerDeployment to be gone", || async {
        lds.get_opt("ledger").await.unwrap().is_none().then_some(())
    })
    .await;
    for name in passwords.keys() {
        let s = secrets.get(name).await.unwrap();
        assert!(
            s.metadata.owner_references.unwrap_or_default().is_empty(),
            "{name} still has an owner: the garbage collector would delete the credentials"
        );
    }

    // A LedgerDeployment of the same name adopts the retained credentials, unchanged.
    create_ledger(&admin, &ns, "ledger", json!({})).await;
    let again = wait_for("the new LedgerDeployment", || async {
        lds.get_opt("ledger").await.unwrap()
    })
    .await;
    for (name, before) in &passwords {
        let s = wait_for("re-adoption", || async {
            let s = secrets.get(name).await.ok()?;
            let owner = s.metadata.owner_references.as_ref()?.first()?.uid.clone();
            (Some(&owner) == again.metadata.uid.as_ref()).then_some(s)
        })
        .await;
        if *name != "ledger-transaksi-db" {
            assert_eq!(
                &secret_value(&s, "password"),
                before,
                "{name} changed on re-adoption"
            );
        }
    }
    running.stop().await;
}

#[tokio::test]
async fn jaeger_toggle_errors_and_deletion_of_persistent_data() {
    let Some(admin) = admin().await else { return };
    let ns = namespace(&admin, "data").await;
    let running = start_controller(&admin, &ns).await;
    let lds: Api<LedgerDeployment> = Api::namespaced(admin.clone(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), &ns);
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(admin.clone(), &ns);

    // An external PostgreSQL whose Secret is missing: Degraded, with the reason, no crash.
    create_ledger(
        &admin,
        &ns,
        "broken",
        json!({"postgres": {"external": {"host": "db.example", "credentialsSecret": "nope"}}}),
    )
    .await;
    let ld = wait_for("Degraded=True", || async {
        let ld = lds.get("broken").await.ok()?;
        (condition(&ld, "Degraded")?.0 == "True").then_some(ld)
    })
    .await;
    let (_, reason, message) = condition(&ld, "Degraded").unwrap();
    assert_eq!(reason, "ReconcileFailed");
    assert!(message.contains("Secret nope does not exist"), "{message}");
    // Supplying the Secret heals it (retry with backoff): the Deployments appear.
    let creds = Secret {
        metadata: ObjectMeta {
            name: Some("nope".into()),
            ..Default::default()
        },
        string_data: Some(BTreeMap::from(
            [
                "transaksi-username",
                "transaksi-password",
                "mutasi-username",
                "mutasi-password",
            ]
            .map(|k| (k.to_owned(), "x".to_owned())),
        )),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &creds)
        .await
        .unwrap();
    let d = wait_for("broken-transaksi after the Secret appeared", || async {
        deployments.get_opt("broken-transaksi").await.unwrap()
    })
    .await;
    let args = d.spec.unwrap().template.spec.unwrap().containers[0]
        .args
        .clone()
        .unwrap();
    assert!(
        args.join(" ")
            .contains("--db-host db.example --db-port 5432")
    );
    assert!(args.join(" ").contains("--db-sslmode require"));

    // Jaeger on by default, off on request: its Deployment goes, and so does the OTLP env.
    create_ledger(
        &admin,
        &ns,
        "vault",
        json!({"deletePersistentVolumeClaims": true}),
    )
    .await;
    wait_for("vault-jaeger", || async {
        deployments.get_opt("vault-jaeger").await.unwrap()
    })
    .await;
    lds.patch(
        "vault",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"jaeger": {"enabled": false}}})),
    )
    .await
    .unwrap();
    wait_for(
        "vault-jaeger to be deleted and OTLP env dropped",
        || async {
            if deployments.get_opt("vault-jaeger").await.unwrap().is_some() {
                return None;
            }
            let d = deployments.get("vault-transaksi").await.ok()?;
            let env = d.spec?.template.spec?.containers[0].env.clone()?;
            (!env.iter().any(|e| e.name == "OTEL_EXPORTER_OTLP_ENDPOINT")).then_some(())
        },
    )
    .await;

    // deletePersistentVolumeClaims: true -> the claims and generated Secrets go with it. No
    // StatefulSet controller runs here, so make the claim its template would have produced.
    let claim: PersistentVolumeClaim = serde_json::from_value(json!({
        "metadata": {"name": "data-vault-postgres-0", "labels": {
            LABEL_INSTANCE: "vault", LABEL_MANAGED_BY: "bukubesar-operator",
            LABEL_COMPONENT: Component::Postgres.as_str(), LABEL_NAME: "bukubesar"}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }))
    .unwrap();
    pvcs.create(&PostParams::default(), &claim).await.unwrap();
    wait_for("vault secrets", || async {
        secrets.get_opt("vault-redis-auth").await.unwrap()
    })
    .await;
    lds.delete("vault", &DeleteParams::default()).await.unwrap();
    wait_for("vault to be gone", || async {
        lds.get_opt("vault").await.unwrap().is_none().then_some(())
    })
    .await;
    // The PVC is gone or terminating (its pvc-protection finalizer needs a controller-manager).
    let claim = pvcs.get_opt("data-vault-postgres-0").await.unwrap();
    assert!(
        claim.is_none_or(|c| c.metadata.deletion_timestamp.is_some()),
        "the PVC was not deleted"
    );
    for name in [
        "vault-postgres-superuser",
        "vault-transaksi-db",
        "vault-mutasi-db",
        "vault-redis-auth",
    ] {
        assert!(
            secrets.get_opt(name).await.unwrap().is_none(),
            "{name} was kept"
        );
    }
    assert!(
        running.ctx.metrics.errors() > 0,
        "the broken spec must count as an error"
    );
    running.stop().await;
}

#[tokio::test]
async fn leader_election_admits_one_leader_at_a_time() {
    let Some(admin) = admin().await else { return };
    let client = operator_client(&admin).await;
    let lease = format!(
        "it-lease-{}",
        operator::builders::secrets::random_password()[..6].to_lowercase()
    );
    let config = |identity: &str| LeaseConfig {
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
        ..LeaseConfig::new(&lease, SA_NAMESPACE, identity)
    };
    let a = LeaderElector::new(client.clone(), config("replica-a"));
    let b = LeaderElector::new(client.clone(), config("replica-b"));

    assert!(
        a.try_acquire_or_renew().await.unwrap(),
        "a takes the free Lease"
    );
    assert!(
        !b.try_acquire_or_renew().await.unwrap(),
        "b must not take a held Lease"
    );
    // a keeps renewing for longer than a lease duration: b never gets in.
    let started = Instant::now();
    let mut stalled = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        assert!(a.try_acquire_or_renew().await.unwrap());
        stalled = Instant::now();
        assert!(
            !b.try_acquire_or_renew().await.unwrap(),
            "two leaders at once"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // a stops renewing (crashed): b takes over once the record stood still for a lease duration
    // (`stalled`: a's last renewal).
    wait_for("b to take over", || async {
        b.try_acquire_or_renew().await.unwrap().then_some(())
    })
    .await;
    assert!(
        stalled.elapsed() >= Duration::from_secs(3),
        "took over too early"
    );
    assert!(
        !a.try_acquire_or_renew().await.unwrap(),
        "a must not come back while b renews"
    );

    // A leader that shuts down releases the Lease; the other takes it at once.
    let (trigger, work_done) = Shutdown::new();
    trigger.trigger();
    let (_keep_running, never) = Shutdown::new();
    b.run(|_| {}, never, || work_done.wait()).await.unwrap();
    assert!(
        a.try_acquire_or_renew().await.unwrap(),
        "released Lease must be free"
    );

    // A leader whose Lease is taken from under it stops its work at the next renewal.
    let c = Arc::new(LeaderElector::new(client.clone(), config("replica-c")));
    let leading = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (_keep, never) = Shutdown::new();
    let task = {
        let (c, leading) = (c.clone(), leading.clone());
        tokio::spawn(async move {
            c.run(
                move |on| leading.store(on, std::sync::atomic::Ordering::SeqCst),
                never,
                futures::future::pending::<()>,
            )
            .await
        })
    };
    // a stopped renewing above, so c gets the Lease once it expires
    wait_for("c to lead", || async {
        leading
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(())
    })
    .await;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), SA_NAMESPACE);
    let mut stolen = leases.get(&lease).await.unwrap();
    stolen.spec.as_mut().unwrap().holder_identity = Some("intruder".into());
    leases
        .replace(&lease, &PostParams::default(), &stolen)
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(3), task)
        .await
        .expect("c kept leading after losing the Lease")
        .unwrap();
    assert!(outcome.is_err(), "run must report the lost Lease");
    assert!(!leading.load(std::sync::atomic::Ordering::SeqCst));
}

/// The chart installed with `watchNamespace` (Role + RoleBinding in that namespace only, no
/// ClusterRole): its ServiceAccount can run a platform there, and nothing elsewhere.
#[tokio::test]
async fn single_namespace_install_rbac_suffices_there_only() {
    let Some(admin) = admin().await else { return };
    let sa = std::env::var("BUKUBESAR_SCOPED_OPERATOR_SA").unwrap_or_else(|_| {
        "system:serviceaccount:bukubesar-scoped:bukubesar-operator-scoped".into()
    });
    let ns = std::env::var("BUKUBESAR_SCOPED_NAMESPACE").unwrap_or_else(|_| "ledger-scoped".into());
    let running = start_controller_as(&admin, &ns, &sa).await;
    let name = format!(
        "s{}",
        operator::builders::secrets::random_password()[..6].to_lowercase()
    );
    create_ledger(&admin, &ns, &name, json!({"jaeger": {"enabled": false}})).await;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns);
    let statefulsets: Api<StatefulSet> = Api::namespaced(admin.clone(), &ns);
    for app in ["transaksi", "mutasi"] {
        let d = format!("{name}-{app}");
        wait_for(&d, || async { deployments.get_opt(&d).await.unwrap() }).await;
        mark_deployment_ready(&deployments, &d).await;
    }
    for db in ["postgres", "redis"] {
        let s = format!("{name}-{db}");
        wait_for(&s, || async { statefulsets.get_opt(&s).await.unwrap() }).await;
        mark_statefulset_ready(&statefulsets, &s).await;
    }
    let lds: Api<LedgerDeployment> = Api::namespaced(admin.clone(), &ns);
    wait_for("Ready=True in the watched namespace", || async {
        let ld = lds.get(&name).await.ok()?;
        (condition(&ld, "Ready")?.0 == "True").then_some(())
    })
    .await;
    lds.delete(&name, &DeleteParams::default()).await.unwrap();
    wait_for("the finalizer to complete", || async {
        lds.get_opt(&name).await.unwrap().is_none().then_some(())
    })
    .await;
    running.stop().await;

    // Elsewhere the scoped ServiceAccount has no rights at all.
    let scoped = client_as(&admin, &sa).await;
    let other: Api<Deployment> = Api::namespaced(scoped, "default");
    match other.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403),
        other => panic!("expected 403 outside the watched namespace, got {other:?}"),
    }
}
