//! Pure functions from a `LedgerDeployment` to the objects it should own. Nothing here talks to
//! the API server, so every desired object can be unit-tested.

pub mod apps;
pub mod jaeger;
pub mod network;
pub mod postgres;
pub mod redis;
pub mod resources;
pub mod secrets;
pub mod security;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, ExecAction, ObjectFieldSelector, Probe, SecretKeySelector, ServicePort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};

use crate::crd::{LedgerDeployment, LedgerDeploymentSpec};

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const APP_NAME: &str = "bukubesar";
pub const MANAGED_BY: &str = "bukubesar-operator";
/// Pod-template annotation holding a hash of the Secret-backed settings a pod uses; when a
/// credential changes, the hash changes and the Deployment rolls its pods.
pub const SECRET_HASH_ANNOTATION: &str = "bukubesar.io/secret-hash";

/// The parts of the platform, also the value of `app.kubernetes.io/component`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    Postgres,
    Redis,
    Transaksi,
    Mutasi,
    Jaeger,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Postgres,
        Component::Redis,
        Component::Transaksi,
        Component::Mutasi,
        Component::Jaeger,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Postgres => "postgres",
            Component::Redis => "redis",
            Component::Transaksi => "transaksi",
            Component::Mutasi => "mutasi",
            Component::Jaeger => "jaeger",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    #[error("the LedgerDeployment has no {0}")]
    MissingMetadata(&'static str),
}

/// A `LedgerDeployment` with the metadata every builder needs checked once.
#[derive(Clone, Debug)]
pub struct Instance<'a> {
    pub name: String,
    pub namespace: String,
    pub owner: OwnerReference,
    pub spec: &'a LedgerDeploymentSpec,
}

impl<'a> Instance<'a> {
    pub fn new(ld: &'a LedgerDeployment) -> Result<Self, BuildError> {
        let name = ld
            .meta()
            .name
            .clone()
            .ok_or(BuildError::MissingMetadata("name"))?;
        let namespace = ld
            .namespace()
            .ok_or(BuildError::MissingMetadata("namespace"))?;
        let owner = ld
            .controller_owner_ref(&())
            .ok_or(BuildError::MissingMetadata("uid"))?;
        Ok(Instance {
            name,
            namespace,
            owner,
            spec: &ld.spec,
        })
    }

    /// Name of the object(s) of a component, e.g. `ledger-transaksi`.
    pub fn child_name(&self, component: Component) -> String {
        format!("{}-{}", self.name, component.as_str())
    }

    /// Labels that select a component's pods (stable: used in immutable selectors).
    pub fn selector_labels(&self, component: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_NAME.to_owned(), APP_NAME.to_owned()),
            (LABEL_INSTANCE.to_owned(), self.name.clone()),
            (LABEL_COMPONENT.to_owned(), component.as_str().to_owned()),
        ])
    }

    /// Labels on every object the operator makes.
    pub fn labels(&self, component: Component) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels(component);
        labels.insert(LABEL_MANAGED_BY.to_owned(), MANAGED_BY.to_owned());
        labels
    }

    pub fn selector(&self, component: Component) -> LabelSelector {
        LabelSelector {
            match_labels: Some(self.selector_labels(component)),
            ..Default::default()
        }
    }

    /// Metadata of an owned child: name, namespace, labels, controller owner reference.
    pub fn meta(&self, name: String, component: Component) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(component)),
            owner_references: Some(vec![self.owner.clone()]),
            ..Default::default()
        }
    }

    /// `host` of a Service in this namespace, as other pods reach it.
    pub fn service_host(&self, component: Component) -> String {
        format!("{}.{}.svc", self.child_name(component), self.namespace)
    }
}

pub(crate) fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        ..Default::default()
    }
}

pub(crate) fn env_from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn env_from_field(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.to_owned(),
                api_version: Some("v1".to_owned()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A TCP service port targeting the container port of the same name. `protocol` is set
/// explicitly: server-side apply needs it (it is part of the list-map key).
pub(crate) fn tcp_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port,
        protocol: Some("TCP".to_owned()),
        target_port: Some(IntOrString::String(name.to_owned())),
        ..Default::default()
    }
}

pub(crate) fn exec_probe(
    command: &[&str],
    period: i32,
    failures: i32,
    initial_delay: i32,
) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| (*s).to_owned()).collect()),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        initial_delay_seconds: Some(initial_delay),
        timeout_seconds: Some(5),
        ..Default::default()
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use kube::api::ObjectMeta;

    use crate::crd::{LedgerDeployment, LedgerDeploymentSpec};

    /// A LedgerDeployment as the API server would hand it over.
    pub fn ledger(spec: LedgerDeploymentSpec) -> LedgerDeployment {
        let mut ld = LedgerDeployment::new("ledger", spec);
        ld.metadata = ObjectMeta {
            name: Some("ledger".into()),
            namespace: Some("bank".into()),
            uid: Some("0b5c6a7e-1111-2222-3333-444455556666".into()),
            generation: Some(1),
            ..Default::default()
        };
        ld
    }

    pub fn default_spec() -> LedgerDeploymentSpec {
        serde_json::from_str("{}").unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn instance_needs_name_namespace_and_uid() {
        let mut ld = ledger(default_spec());
        assert!(Instance::new(&ld).is_ok());
        ld.metadata.uid = None;
        assert_eq!(
            Instance::new(&ld).unwrap_err(),
            BuildError::MissingMetadata("uid")
        );
        ld.metadata.namespace = None;
        assert_eq!(
            Instance::new(&ld).unwrap_err(),
            BuildError::MissingMetadata("namespace")
        );
    }

    #[test]
    fn meta_has_labels_and_controller_owner() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let meta = inst.meta(inst.child_name(Component::Redis), Component::Redis);
        let labels = meta.labels.unwrap();
        assert_eq!(labels[LABEL_INSTANCE], "ledger");
        assert_eq!(labels[LABEL_COMPONENT], "redis");
        assert_eq!(labels[LABEL_MANAGED_BY], "bukubesar-operator");
        assert_eq!(labels[LABEL_NAME], "bukubesar");
        let owner = &meta.owner_references.unwrap()[0];
        assert_eq!(owner.kind, "LedgerDeployment");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.uid, "0b5c6a7e-1111-2222-3333-444455556666");
        assert_eq!(meta.name.unwrap(), "ledger-redis");
    }
}
