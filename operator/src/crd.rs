//! The `LedgerDeployment` custom resource (bukubesar.io/v1alpha1), defined once here; the CRD
//! YAML in `crds/` and in the Helm chart is generated from it (`operator crd`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Kubernetes quantity syntax (`resource.Quantity`), as enforced by the API server for
/// built-in types. CRDs do not get it for free, so every quantity field carries this pattern.
pub const QUANTITY_PATTERN: &str = r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$";

pub const DEFAULT_TRANSAKSI_IMAGE: &str = "bukubesar/transaksi:0.1.0";
pub const DEFAULT_MUTASI_IMAGE: &str = "bukubesar/mutasi:0.1.0";
pub const DEFAULT_POSTGRES_IMAGE: &str = "postgres:15-alpine";
pub const DEFAULT_REDIS_IMAGE: &str = "redis:7-alpine";
pub const DEFAULT_JAEGER_IMAGE: &str = "jaegertracing/all-in-one:1.60";

/// A complete bukubesar platform: PostgreSQL, Redis, Jaeger, and the transaksi and mutasi
/// services. `spec: {}` is valid and deploys everything with defaults.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "bukubesar.io",
    version = "v1alpha1",
    kind = "LedgerDeployment",
    plural = "ledgerdeployments",
    shortname = "ldg",
    namespaced,
    status = "LedgerDeploymentStatus",
    derive = "PartialEq",
    derive = "Default",
    doc = "A bukubesar ledger platform (PostgreSQL, Redis, Jaeger, transaksi, mutasi) managed by bukubesar-operator.",
    printcolumn = r#"{"name":"Ready","type":"string","description":"Whether every component reports ready replicas","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Transaksi","type":"string","description":"Ready/desired transaksi pods, as their Deployment reports them","jsonPath":".status.transaksiReplicas"}"#,
    printcolumn = r#"{"name":"Mutasi","type":"string","description":"Ready/desired mutasi pods, as their Deployment reports them","jsonPath":".status.mutasiReplicas"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct LedgerDeploymentSpec {
    /// The transaksi service (accounts, deposits, withdrawals).
    #[serde(default)]
    pub transaksi: ServiceSpec,
    /// The mutasi service (account statements, fed from the Redis stream).
    #[serde(default)]
    pub mutasi: ServiceSpec,
    #[serde(default)]
    pub postgres: PostgresSpec,
    #[serde(default)]
    pub redis: RedisSpec,
    #[serde(default)]
    pub jaeger: JaegerSpec,
    /// OTLP gRPC endpoint the services export traces to. Defaults to the bundled Jaeger
    /// (`http://<name>-jaeger:4317`) when it is enabled; no tracing when neither is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub otlp_endpoint: Option<String>,
    /// Who may scrape the services' private `/metrics` ports (transaksi 9180, mutasi 9181):
    /// the LedgerDeployment's NetworkPolicy admits only these pods there.
    #[serde(default)]
    pub metrics: MetricsSpec,
    /// When true, deleting the LedgerDeployment also deletes the PostgreSQL and Redis
    /// PersistentVolumeClaims and the generated credential Secrets. Default false: the data
    /// (the money) and the passwords that open it are kept.
    #[serde(default)]
    pub delete_persistent_volume_claims: bool,
}

/// The services' `/metrics` ports.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSpec {
    /// The pods allowed to reach the metrics ports (the API ports are open to every pod).
    #[serde(default)]
    pub scrapers: ScrapersSpec,
}

/// Pods (by their labels) in namespaces (by theirs) allowed to scrape `/metrics`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScrapersSpec {
    /// Labels every scraping pod carries; default `app.kubernetes.io/name: prometheus`.
    #[serde(default = "default_scraper_pod_labels")]
    pub pod_labels: BTreeMap<String, String>,
    /// Labels of the namespaces the scrapers run in; empty (the default): any namespace.
    #[serde(default)]
    pub namespace_labels: BTreeMap<String, String>,
}

/// The label Prometheus's usual installations (its Helm chart, the Prometheus operator) put
/// on its pods.
pub const DEFAULT_SCRAPER_LABEL: (&str, &str) = ("app.kubernetes.io/name", "prometheus");

fn default_scraper_pod_labels() -> BTreeMap<String, String> {
    let (key, value) = DEFAULT_SCRAPER_LABEL;
    BTreeMap::from([(key.to_owned(), value.to_owned())])
}

impl Default for ScrapersSpec {
    fn default() -> Self {
        ScrapersSpec {
            pod_labels: default_scraper_pod_labels(),
            namespace_labels: BTreeMap::new(),
        }
    }
}

/// One of the two HTTP services.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    /// Number of pods.
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// Container image; default `bukubesar/transaksi:0.1.0` or `bukubesar/mutasi:0.1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,
    /// CPU and memory requests and limits of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// `--log-level` of the service.
    #[serde(default)]
    pub log_level: LogLevel,
}

fn one() -> i32 {
    1
}

impl Default for ServiceSpec {
    fn default() -> Self {
        ServiceSpec {
            replicas: 1,
            image: None,
            resources: None,
            log_level: LogLevel::Info,
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    #[default]
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    pub fn as_flag(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }
}

/// Requests and limits; only CPU and memory, as quantities (`250m`, `512Mi`).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceAmounts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceAmounts>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAmounts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = QUANTITY_PATTERN))]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = QUANTITY_PATTERN))]
    pub memory: Option<String>,
}

impl Resources {
    /// The Kubernetes form of these requests and limits.
    pub fn to_requirements(&self) -> ResourceRequirements {
        fn list(amounts: &Option<ResourceAmounts>) -> Option<BTreeMap<String, Quantity>> {
            let amounts = amounts.as_ref()?;
            let mut map = BTreeMap::new();
            if let Some(cpu) = &amounts.cpu {
                map.insert("cpu".to_owned(), Quantity(cpu.clone()));
            }
            if let Some(memory) = &amounts.memory {
                map.insert("memory".to_owned(), Quantity(memory.clone()));
            }
            (!map.is_empty()).then_some(map)
        }
        ResourceRequirements {
            requests: list(&self.requests),
            limits: list(&self.limits),
            ..Default::default()
        }
    }
}

/// Persistent storage of a stateful component.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Size of the PersistentVolumeClaim; default `10Gi` for PostgreSQL, `1Gi` for Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = QUANTITY_PATTERN))]
    pub size: Option<String>,
    /// StorageClass of the claim; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub storage_class_name: Option<String>,
}

impl StorageSpec {
    pub fn size_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.size.as_deref().unwrap_or(default)
    }
}

/// PostgreSQL: run by the operator (default), or an existing server (`external`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostgresSpec {
    #[serde(default = "default_postgres_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Use an existing PostgreSQL server instead of running one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalPostgres>,
}

fn default_postgres_image() -> String {
    DEFAULT_POSTGRES_IMAGE.into()
}

impl Default for PostgresSpec {
    fn default() -> Self {
        PostgresSpec {
            image: default_postgres_image(),
            storage: StorageSpec::default(),
            resources: None,
            external: None,
        }
    }
}

/// An existing PostgreSQL server. The Secret `credentialsSecret` must hold the keys
/// `transaksi-username`, `transaksi-password`, `mutasi-username` and `mutasi-password`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalPostgres {
    #[schemars(length(min = 1))]
    pub host: String,
    #[serde(default = "default_postgres_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    #[serde(default = "default_transaksi_db")]
    #[schemars(length(min = 1))]
    pub transaksi_database: String,
    #[serde(default = "default_mutasi_db")]
    #[schemars(length(min = 1))]
    pub mutasi_database: String,
    /// Name of a Secret in the same namespace with the per-service credentials.
    #[schemars(length(min = 1))]
    pub credentials_secret: String,
    /// `--db-sslmode` passed to the services.
    #[serde(default = "default_sslmode")]
    #[schemars(regex(pattern = r"^(disable|allow|prefer|require|verify-ca|verify-full)$"))]
    pub sslmode: String,
}

fn default_postgres_port() -> i32 {
    5432
}
fn default_transaksi_db() -> String {
    "transaksi".into()
}
fn default_mutasi_db() -> String {
    "mutasi".into()
}
fn default_sslmode() -> String {
    "require".into()
}

/// Redis: run by the operator (default, append-only file on a PVC), or `external`.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedisSpec {
    #[serde(default = "default_redis_image")]
    #[schemars(length(min = 1))]
    pub image: String,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Use an existing Redis instead of running one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalRedis>,
}

fn default_redis_image() -> String {
    DEFAULT_REDIS_IMAGE.into()
}

impl Default for RedisSpec {
    fn default() -> Self {
        RedisSpec {
            image: default_redis_image(),
            storage: StorageSpec::default(),
            resources: None,
            external: None,
        }
    }
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRedis {
    #[schemars(length(min = 1))]
    pub host: String,
    #[serde(default = "default_redis_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Secret holding the Redis password; no password when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretKeyRef>,
}

fn default_redis_port() -> i32 {
    6379
}

#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    #[schemars(length(min = 1))]
    pub name: String,
    #[serde(default = "default_password_key")]
    #[schemars(length(min = 1))]
    pub key: String,
}

fn default_password_key() -> String {
    "password".into()
}

/// Jaeger all-in-one (OTLP 4317/4318, UI 16686).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JaegerSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "default_jaeger_image")]
    #[schemars(length(min = 1))]
    pub image: String,
}

fn yes() -> bool {
    true
}

fn default_jaeger_image() -> String {
    DEFAULT_JAEGER_IMAGE.into()
}

impl Default for JaegerSpec {
    fn default() -> Self {
        JaegerSpec {
            enabled: yes(),
            image: default_jaeger_image(),
        }
    }
}

/// Observed state, written by the operator only.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerDeploymentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Progressing` and `Degraded`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Readiness of each component the operator runs.
    #[serde(default)]
    pub components: Vec<ComponentStatus>,
    /// Ready/desired transaksi pods, e.g. `2/3` (the `kubectl get ldg` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaksi_replicas: Option<String>,
    /// Ready/desired mutasi pods (the `kubectl get ldg` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutasi_replicas: Option<String>,
    /// In-cluster URL of transaksi, e.g. `http://ledger-transaksi.bank.svc:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaksi_url: Option<String>,
    /// In-cluster URL of mutasi.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutasi_url: Option<String>,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    /// postgres, redis, transaksi, mutasi or jaeger.
    pub name: String,
    pub ready: bool,
    pub desired_replicas: i32,
    pub ready_replicas: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Longest accepted `metadata.name`: the children's names (`<name>-transaksi`, the
/// StatefulSet pods' `controller-revision-hash` label `<name>-postgres-<hash>`) must stay
/// within the 63 characters of a DNS label.
pub const MAX_NAME_LENGTH: i64 = 40;

/// The CustomResourceDefinition: what kube derives from the types above, plus a length limit
/// on `metadata.name` (the one metadata restriction a CRD schema may carry).
pub fn definition() -> CustomResourceDefinition {
    let mut crd = LedgerDeployment::crd();
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let name = JSONSchemaProps {
            type_: Some("string".into()),
            max_length: Some(MAX_NAME_LENGTH),
            ..Default::default()
        };
        let metadata = JSONSchemaProps {
            type_: Some("object".into()),
            properties: Some(BTreeMap::from([("name".to_owned(), name)])),
            ..Default::default()
        };
        schema
            .properties
            .get_or_insert_with(BTreeMap::new)
            .insert("metadata".to_owned(), metadata);
    }
    crd
}

/// The CRD as YAML, exactly what `operator crd` prints and `crds/ledgerdeployment.yaml` holds.
///
/// Keys are sorted at every level, so the output does not depend on whether some other crate in
/// the build enables serde_json's `preserve_order` feature (which changes map ordering).
pub fn crd_yaml() -> Result<String, serde_saphyr::ser::Error> {
    let crd = serde_json::to_value(definition())
        .map_err(|e| serde_saphyr::ser::Error::from(e.to_string()))?;
    let body = serde_saphyr::to_string(&sorted(crd))?;
    Ok(format!(
        "# Generated by `operator crd` from operator/src/crd.rs -- do not edit by hand.\n---\n{body}"
    ))
}

fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(String, serde_json::Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.into_iter().map(sorted).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_spec_deserialises_with_defaults() {
        let spec: LedgerDeploymentSpec = serde_json::from_str("{}").unwrap();
        assert_eq!(spec, LedgerDeploymentSpec::default());
        assert_eq!(spec.transaksi.replicas, 1);
        assert_eq!(spec.postgres.image, DEFAULT_POSTGRES_IMAGE);
        assert_eq!(spec.redis.image, DEFAULT_REDIS_IMAGE);
        assert!(spec.jaeger.enabled);
        assert!(!spec.delete_persistent_volume_claims);
        assert_eq!(
            spec.metrics.scrapers.pod_labels["app.kubernetes.io/name"],
            "prometheus"
        );
        assert!(spec.metrics.scrapers.namespace_labels.is_empty());
    }

    #[test]
    fn scrapers_can_be_chosen() {
        let spec: LedgerDeploymentSpec = serde_json::from_str(
            r#"{"metrics": {"scrapers": {"podLabels": {"app": "vmagent"}, "namespaceLabels": {"kubernetes.io/metadata.name": "monitoring"}}}}"#,
        )
        .unwrap();
        let scrapers = &spec.metrics.scrapers;
        assert_eq!(scrapers.pod_labels.len(), 1);
        assert_eq!(scrapers.pod_labels["app"], "vmagent");
        assert_eq!(
            scrapers.namespace_labels["kubernetes.io/metadata.name"],
            "monitoring"
        );
    }

    #[test]
    fn partial_blocks_get_field_defaults() {
        let spec: LedgerDeploymentSpec = serde_json::from_str(
            r#"{"transaksi": {"replicas": 3}, "postgres": {"storage": {"storageClassName": "fast"}}, "jaeger": {"enabled": false}}"#,
        )
        .unwrap();
        assert_eq!(spec.transaksi.replicas, 3);
        assert_eq!(spec.transaksi.image, None);
        assert_eq!(spec.mutasi.replicas, 1);
        assert_eq!(spec.postgres.image, DEFAULT_POSTGRES_IMAGE);
        assert_eq!(spec.postgres.storage.size_or("10Gi"), "10Gi");
        assert_eq!(spec.jaeger.image, DEFAULT_JAEGER_IMAGE);
    }

    #[test]
    fn schema_carries_validation_and_defaults() {
        let crd = serde_json::to_value(definition()).unwrap();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let transaksi = &spec["properties"]["transaksi"];
        assert_eq!(transaksi["default"]["replicas"], 1);
        assert_eq!(transaksi["properties"]["replicas"]["minimum"], 0.0);
        assert_eq!(transaksi["properties"]["replicas"]["default"], 1);
        let size = &spec["properties"]["postgres"]["properties"]["storage"]["properties"]["size"];
        assert_eq!(size["pattern"], QUANTITY_PATTERN);
        assert_eq!(crd["spec"]["names"]["shortNames"][0], "ldg");
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert_eq!(
            root["properties"]["metadata"]["properties"]["name"]["maxLength"],
            40
        );
        assert_eq!(
            crd["spec"]["versions"][0]["subresources"]["status"],
            serde_json::json!({})
        );
    }

    #[test]
    fn crd_yaml_names_the_resource() {
        let crd = crd_yaml().unwrap();
        assert!(crd.contains("kind: CustomResourceDefinition"));
        assert!(crd.contains("ledgerdeployments.bukubesar.io"));
    }

    #[test]
    fn resources_convert_to_requirements() {
        let resources = Resources {
            requests: Some(ResourceAmounts {
                cpu: Some("250m".into()),
                memory: None,
            }),
            limits: Some(ResourceAmounts::default()),
        };
        let req = resources.to_requirements();
        assert_eq!(
            req.requests.unwrap().get("cpu"),
            Some(&Quantity("250m".into()))
        );
        assert!(req.limits.is_none());
    }
}

#[cfg(test)]
mod generated_files {
    use super::crd_yaml;

    fn read(relative: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    #[test]
    fn crds_directory_holds_the_current_crd() {
        assert!(
            read("../crds/ledgerdeployment.yaml") == crd_yaml().unwrap(),
            "crds/ledgerdeployment.yaml is stale: run `cargo run -p operator -- crd > crds/ledgerdeployment.yaml`"
        );
    }

    #[test]
    fn helm_chart_holds_the_current_crd() {
        assert!(
            read("../helm/bukubesar-operator/crds/ledgerdeployment.yaml") == crd_yaml().unwrap(),
            "the chart's CRD is stale: copy crds/ledgerdeployment.yaml to helm/bukubesar-operator/crds/"
        );
    }
}
