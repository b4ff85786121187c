//! PostgreSQL: a one-replica StatefulSet with a PVC template, its headless Service, and the
//! init script (ConfigMap) that creates the two databases and their owners on first start.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Service, ServiceSpec, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::secrets::{App, db_credentials, superuser_secret_name};
use super::{Component, Instance, env, env_from_secret, exec_probe, resources, security, tcp_port};
use crate::crd::StorageSpec;

pub const PORT: i32 = 5432;
pub const DATA_VOLUME: &str = "data";

/// Creates the per-service roles and databases. Runs once, from the postgres image's
/// /docker-entrypoint-initdb.d, when the data directory is empty. Passwords come from the
/// environment (Secrets) through psql variables, so they never appear in this ConfigMap.
/// The file is the one docker-compose.yml mounts, so compose and the operator run the same
/// script (building the operator needs `compose/` beside `operator/`).
pub const INIT_SCRIPT: &str = include_str!("../../../compose/postgres-init.sh");

pub fn init_configmap_name(inst: &Instance) -> String {
    format!("{}-postgres-init", inst.name)
}

pub fn init_configmap(inst: &Instance) -> ConfigMap {
    ConfigMap {
        metadata: inst.meta(init_configmap_name(inst), Component::Postgres),
        data: Some(BTreeMap::from([(
            "10-bukubesar-databases.sh".to_owned(),
            INIT_SCRIPT.to_owned(),
        )])),
        ..Default::default()
    }
}

/// Headless Service that governs the StatefulSet; the services connect to its name.
pub fn service(inst: &Instance) -> Service {
    Service {
        metadata: inst.meta(inst.child_name(Component::Postgres), Component::Postgres),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            selector: Some(inst.selector_labels(Component::Postgres)),
            ports: Some(vec![tcp_port("postgres", PORT)]),
            publish_not_ready_addresses: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn statefulset(inst: &Instance) -> StatefulSet {
    let spec = &inst.spec.postgres;
    let (mut volumes, _) = security::scratch(Component::Postgres);
    volumes.push(Volume {
        name: "initdb".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: init_configmap_name(inst),
            default_mode: Some(0o555),
            ..Default::default()
        }),
        ..Default::default()
    });
    let pod = PodSpec {
        containers: vec![container(inst)],
        volumes: Some(volumes),
        security_context: Some(security::pod(Component::Postgres)),
        termination_grace_period_seconds: Some(60),
        ..Default::default()
    };
    data_statefulset(inst, Component::Postgres, pod, &spec.storage, "10Gi")
}

/// The postgres container: the image's superuser and the services' users from their Secrets
/// (read by the init script), the data volume and the init script's ConfigMap, `pg_isready`
/// probes.
fn container(inst: &Instance) -> Container {
    let spec = &inst.spec.postgres;
    let superuser = superuser_secret_name(inst);
    let transaksi = db_credentials(inst, App::Transaksi);
    let mutasi = db_credentials(inst, App::Mutasi);
    let (_, mut mounts) = security::scratch(Component::Postgres);
    mounts.push(VolumeMount {
        name: DATA_VOLUME.to_owned(),
        mount_path: "/var/lib/postgresql/data".to_owned(),
        ..Default::default()
    });
    mounts.push(VolumeMount {
        name: "initdb".to_owned(),
        mount_path: "/docker-entrypoint-initdb.d".to_owned(),
        read_only: Some(true),
        ..Default::default()
    });
    let is_ready = [
        "pg_isready",
        "-U",
        "postgres",
        "-h",
        "127.0.0.1",
        "-p",
        "5432",
    ];
    Container {
        name: "postgres".to_owned(),
        image: Some(spec.image.clone()),
        ports: Some(vec![ContainerPort {
            name: Some("postgres".to_owned()),
            container_port: PORT,
            protocol: Some("TCP".to_owned()),
            ..Default::default()
        }]),
        env: Some(vec![
            env_from_secret("POSTGRES_USER", &superuser, "username"),
            env_from_secret("POSTGRES_PASSWORD", &superuser, "password"),
            env("PGDATA", "/var/lib/postgresql/data/pgdata"),
            env_from_secret(
                "TRANSAKSI_DB_USER",
                &transaksi.user.secret,
                &transaksi.user.key,
            ),
            env_from_secret(
                "TRANSAKSI_DB_PASSWORD",
                &transaksi.password.secret,
                &transaksi.password.key,
            ),
            env_from_secret("MUTASI_DB_USER", &mutasi.user.secret, &mutasi.user.key),
            env_from_secret(
                "MUTASI_DB_PASSWORD",
                &mutasi.password.secret,
                &mutasi.password.key,
            ),
        ]),
        volume_mounts: Some(mounts),
        readiness_probe: Some(exec_probe(&is_ready, 5, 3, 5)),
        liveness_probe: Some(exec_probe(&is_ready, 10, 6, 30)),
        resources: Some(resources::of(Component::Postgres, spec.resources.as_ref())),
        security_context: Some(security::container(Component::Postgres)),
        ..Default::default()
    }
}

/// The one-replica StatefulSet of a data store (PostgreSQL, Redis): named after the component,
/// governed by its headless Service, running `pod`, with one PVC template [`DATA_VOLUME`].
pub fn data_statefulset(
    inst: &Instance,
    component: Component,
    pod: PodSpec,
    storage: &StorageSpec,
    default_size: &str,
) -> StatefulSet {
    StatefulSet {
        metadata: inst.meta(inst.child_name(component), component),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(inst.child_name(component)),
            selector: inst.selector(component),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(inst.labels(component)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![claim_template(
                inst,
                component,
                storage.size_or(default_size),
                storage.storage_class_name.as_deref(),
            )]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// PVC template of a stateful component. The claims carry the instance and component labels
/// (the finalizer finds them by label) but no owner reference, so they outlive the
/// StatefulSet unless the LedgerDeployment asks for their deletion.
pub fn claim_template(
    inst: &Instance,
    component: Component,
    size: &str,
    storage_class: Option<&str>,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.to_owned()),
            labels: Some(inst.labels(component)),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            storage_class_name: storage_class.map(str::to_owned),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(size.to_owned()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The storage (size, class) a StatefulSet's first claim template asks for.
fn claim_storage(sts: &StatefulSet) -> Option<(Option<Quantity>, Option<String>)> {
    let claim = sts
        .spec
        .as_ref()?
        .volume_claim_templates
        .as_ref()?
        .first()?;
    let spec = claim.spec.as_ref()?;
    let size = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .cloned();
    Some((size, spec.storage_class_name.clone()))
}

/// `volumeClaimTemplates` of a StatefulSet cannot change once it exists (the API server rejects
/// the whole update). When the spec asks for different storage than an existing StatefulSet
/// has, keep the existing templates so that everything else still applies, and say so (`true`).
pub fn keep_existing_claims(
    mut desired: StatefulSet,
    existing: Option<&StatefulSet>,
) -> (StatefulSet, bool) {
    let Some(existing) = existing else {
        return (desired, false);
    };
    let existing_storage = claim_storage(existing);
    if existing_storage.is_none() || existing_storage == claim_storage(&desired) {
        return (desired, false);
    }
    let templates = existing.spec.as_ref().and_then(|s| {
        s.volume_claim_templates.clone().map(|claims| {
            claims
                .into_iter()
                .map(|mut c| {
                    c.status = None;
                    c
                })
                .collect()
        })
    });
    if let Some(spec) = desired.spec.as_mut() {
        spec.volume_claim_templates = templates;
    }
    (desired, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::testing::*;

    #[test]
    fn statefulset_has_pvc_init_script_and_secret_env() {
        let mut spec = default_spec();
        spec.postgres.storage.size = Some("20Gi".into());
        spec.postgres.storage.storage_class_name = Some("fast".into());
        let ld = ledger(spec);
        let inst = Instance::new(&ld).unwrap();
        let sts = statefulset(&inst);
        let s = sts.spec.unwrap();
        assert_eq!(s.service_name.as_deref(), Some("ledger-postgres"));
        let claim = &s.volume_claim_templates.unwrap()[0];
        let cspec = claim.spec.as_ref().unwrap();
        assert_eq!(cspec.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(
            cspec.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"],
            Quantity("20Gi".into())
        );
        assert_eq!(
            claim.metadata.labels.as_ref().unwrap()["app.kubernetes.io/instance"],
            "ledger"
        );
        let pod = s.template.spec.unwrap();
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("postgres:15-alpine"));
        let env = c.env.as_ref().unwrap();
        let pw = env.iter().find(|e| e.name == "POSTGRES_PASSWORD").unwrap();
        let sel = pw
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(sel.name, "ledger-postgres-superuser");
        let tp = env
            .iter()
            .find(|e| e.name == "TRANSAKSI_DB_PASSWORD")
            .unwrap();
        assert_eq!(
            tp.value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .as_ref()
                .unwrap()
                .name,
            "ledger-transaksi-db"
        );
        assert!(env.iter().all(|e| e.name == "PGDATA" || e.value.is_none()));
        let volumes = pod.volumes.unwrap();
        let initdb = volumes.iter().find(|v| v.name == "initdb").unwrap();
        assert_eq!(
            initdb.config_map.as_ref().unwrap().name,
            "ledger-postgres-init"
        );
    }

    #[test]
    fn storage_changes_keep_the_existing_claim_templates() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let existing = statefulset(&inst);
        let (same, changed) = keep_existing_claims(statefulset(&inst), Some(&existing));
        assert!(!changed);
        assert_eq!(same, existing);
        let (fresh, changed) = keep_existing_claims(statefulset(&inst), None);
        assert!(!changed);
        assert_eq!(fresh, existing);

        let mut spec = default_spec();
        spec.postgres.storage.size = Some("50Gi".into());
        spec.postgres.image = "postgres:15.8-alpine".into();
        let bigger = ledger(spec);
        let inst = Instance::new(&bigger).unwrap();
        let (kept, changed) = keep_existing_claims(statefulset(&inst), Some(&existing));
        assert!(changed);
        let kept = kept.spec.unwrap();
        assert_eq!(
            kept.volume_claim_templates,
            existing.spec.as_ref().unwrap().volume_claim_templates
        );
        assert_eq!(
            kept.template.spec.unwrap().containers[0].image.as_deref(),
            Some("postgres:15.8-alpine"),
            "everything but the claims still follows the spec"
        );
    }

    #[test]
    fn init_script_creates_both_databases_without_literal_passwords() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let cm = init_configmap(&inst);
        let script = cm.data.unwrap().into_values().next().unwrap();
        assert!(script.contains("CREATE DATABASE transaksi OWNER"));
        assert!(script.contains("CREATE DATABASE mutasi OWNER"));
        assert!(script.contains(":'transaksi_password'"));
        assert!(script.contains("ON_ERROR_STOP=1"));
    }

    #[test]
    fn service_is_headless_with_tcp_port() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let svc = service(&inst).spec.unwrap();
        assert_eq!(svc.cluster_ip.as_deref(), Some("None"));
        let port = &svc.ports.unwrap()[0];
        assert_eq!(port.port, 5432);
        assert_eq!(port.protocol.as_deref(), Some("TCP"));
    }
}
