//! Deployments and Services of the two HTTP services, transaksi (port 8080) and mutasi
//! (port 8081), each with its private `/metrics` port (9180, 9181; named `metrics`, announced
//! to Prometheus by the pod annotations, reachable only from the scrapers under the
//! NetworkPolicy of [`super::network`]). Non-secret settings are flags; credentials come from
//! Secrets as env vars.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, Service,
    ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::secrets::{App, db_credentials, redis_password};
use super::{
    Component, Instance, SECRET_HASH_ANNOTATION, env, env_from_field, env_from_secret, resources,
    security, tcp_port,
};
use crate::crd::ServiceSpec as AppSpec;

/// Name of the container and Service port of `/metrics`.
pub const METRICS_PORT_NAME: &str = "metrics";

impl App {
    pub fn port(self) -> i32 {
        match self {
            App::Transaksi => 8080,
            App::Mutasi => 8081,
        }
    }

    /// The port of its private `/metrics` listener (`--metrics-addr`).
    pub fn metrics_port(self) -> i32 {
        match self {
            App::Transaksi => 9180,
            App::Mutasi => 9181,
        }
    }

    /// The container image: the spec's, or `bukubesar/<app>:0.1.0`.
    pub fn image(self, inst: &Instance) -> String {
        self.spec(inst).image.clone().unwrap_or_else(|| {
            match self {
                App::Transaksi => crate::crd::DEFAULT_TRANSAKSI_IMAGE,
                App::Mutasi => crate::crd::DEFAULT_MUTASI_IMAGE,
            }
            .to_owned()
        })
    }

    fn spec<'a>(self, inst: &Instance<'a>) -> &'a AppSpec {
        match self {
            App::Transaksi => &inst.spec.transaksi,
            App::Mutasi => &inst.spec.mutasi,
        }
    }
}

/// Where the services find PostgreSQL, Redis and the trace collector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    pub db_host: String,
    pub db_port: i32,
    pub db_sslmode: String,
    pub transaksi_database: String,
    pub mutasi_database: String,
    pub redis_host: String,
    pub redis_port: i32,
    pub otlp_endpoint: Option<String>,
}

pub fn endpoints(inst: &Instance) -> Endpoints {
    let (db_host, db_port, db_sslmode, transaksi_database, mutasi_database) =
        match &inst.spec.postgres.external {
            Some(e) => (
                e.host.clone(),
                e.port,
                e.sslmode.clone(),
                e.transaksi_database.clone(),
                e.mutasi_database.clone(),
            ),
            None => (
                inst.child_name(Component::Postgres),
                super::postgres::PORT,
                "disable".to_owned(),
                "transaksi".to_owned(),
                "mutasi".to_owned(),
            ),
        };
    let (redis_host, redis_port) = match &inst.spec.redis.external {
        Some(e) => (e.host.clone(), e.port),
        None => (inst.child_name(Component::Redis), super::redis::PORT),
    };
    let otlp_endpoint = inst.spec.otlp_endpoint.clone().or_else(|| {
        inst.spec.jaeger.enabled.then(|| {
            format!(
                "http://{}:{}",
                inst.child_name(Component::Jaeger),
                super::jaeger::OTLP_GRPC_PORT
            )
        })
    });
    Endpoints {
        db_host,
        db_port,
        db_sslmode,
        transaksi_database,
        mutasi_database,
        redis_host,
        redis_port,
        otlp_endpoint,
    }
}

/// The service's command-line flags (the contract with the transaksi and mutasi binaries).
pub fn args(inst: &Instance, app: App) -> Vec<String> {
    let e = endpoints(inst);
    let database = match app {
        App::Transaksi => &e.transaksi_database,
        App::Mutasi => &e.mutasi_database,
    };
    let mut args: Vec<String> = vec![
        "--host".into(),
        "0.0.0.0".into(),
        "--port".into(),
        app.port().to_string(),
        "--metrics-addr".into(),
        format!("0.0.0.0:{}", app.metrics_port()),
        "--db-host".into(),
        e.db_host.clone(),
        "--db-port".into(),
        e.db_port.to_string(),
        "--db-name".into(),
        database.clone(),
        "--db-sslmode".into(),
        e.db_sslmode.clone(),
        "--redis-host".into(),
        e.redis_host.clone(),
        "--redis-port".into(),
        e.redis_port.to_string(),
    ];
    if app == App::Mutasi {
        args.extend(
            [
                "--stream",
                "mutasi",
                "--group",
                "mutasi",
                "--consumer",
                "$(POD_NAME)",
            ]
            .map(String::from),
        );
    }
    args.push("--log-level".into());
    args.push(app.spec(inst).log_level.as_flag().into());
    args
}

fn env_vars(inst: &Instance, app: App) -> Vec<EnvVar> {
    let creds = db_credentials(inst, app);
    let mut vars = vec![
        env_from_field("POD_NAME", "metadata.name"),
        env_from_secret("DB_USER", &creds.user.secret, &creds.user.key),
        env_from_secret("DB_PASSWORD", &creds.password.secret, &creds.password.key),
    ];
    if let Some(redis) = redis_password(inst) {
        vars.push(env_from_secret("REDIS_PASSWORD", &redis.secret, &redis.key));
    }
    if let Some(otlp) = endpoints(inst).otlp_endpoint {
        vars.push(env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp));
        vars.push(env("OTEL_SERVICE_NAME", app.as_str()));
    }
    vars
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".to_owned()),
            scheme: Some("HTTP".to_owned()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(3),
        ..Default::default()
    }
}

/// The Deployment of `app`. `secret_hash` is the hash of every Secret value the pods consume
/// (see `secrets::app_secret_refs`); it is a pod-template annotation so a change rolls pods.
pub fn deployment(inst: &Instance, app: App, secret_hash: &str) -> Deployment {
    let spec = app.spec(inst);
    let component = app.component();
    let container = Container {
        name: app.as_str().to_owned(),
        image: Some(app.image(inst)),
        args: Some(args(inst, app)),
        ports: Some(vec![
            ContainerPort {
                name: Some("http".to_owned()),
                container_port: app.port(),
                protocol: Some("TCP".to_owned()),
                ..Default::default()
            },
            ContainerPort {
                name: Some(METRICS_PORT_NAME.to_owned()),
                container_port: app.metrics_port(),
                protocol: Some("TCP".to_owned()),
                ..Default::default()
            },
        ]),
        env: Some(env_vars(inst, app)),
        readiness_probe: Some(http_probe("/readyz", 5, 3)),
        liveness_probe: Some(Probe {
            initial_delay_seconds: Some(10),
            ..http_probe("/healthz", 10, 6)
        }),
        resources: Some(resources::of(component, spec.resources.as_ref())),
        security_context: Some(security::container(component)),
        ..Default::default()
    };
    Deployment {
        metadata: inst.meta(inst.child_name(component), component),
        spec: Some(DeploymentSpec {
            replicas: Some(spec.replicas),
            selector: inst.selector(component),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(inst.labels(component)),
                    annotations: Some(BTreeMap::from([
                        (SECRET_HASH_ANNOTATION.to_owned(), secret_hash.to_owned()),
                        ("prometheus.io/scrape".to_owned(), "true".to_owned()),
                        (
                            "prometheus.io/port".to_owned(),
                            app.metrics_port().to_string(),
                        ),
                        ("prometheus.io/path".to_owned(), "/metrics".to_owned()),
                    ])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    security_context: Some(security::pod(component)),
                    termination_grace_period_seconds: Some(30),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn service(inst: &Instance, app: App) -> Service {
    let component = app.component();
    Service {
        metadata: inst.meta(inst.child_name(component), component),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(inst.selector_labels(component)),
            ports: Some(vec![
                tcp_port("http", app.port()),
                tcp_port(METRICS_PORT_NAME, app.metrics_port()),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// In-cluster URL of `app`, reported in the status.
pub fn url(inst: &Instance, app: App) -> String {
    format!(
        "http://{}:{}",
        inst.service_host(app.component()),
        app.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::testing::*;
    use crate::crd::{ResourceAmounts, Resources};

    fn container(d: &Deployment) -> &Container {
        &d.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
    }

    fn secret_of<'a>(c: &'a Container, name: &str) -> Option<(&'a str, &'a str)> {
        let e = c.env.as_ref()?.iter().find(|e| e.name == name)?;
        let s = e.value_from.as_ref()?.secret_key_ref.as_ref()?;
        Some((s.name.as_str(), s.key.as_str()))
    }

    #[test]
    fn transaksi_deployment_follows_the_contract() {
        let mut spec = default_spec();
        spec.transaksi.replicas = 3;
        spec.transaksi.image = Some("bukubesar/transaksi:0.2.0".into());
        spec.transaksi.resources = Some(Resources {
            requests: Some(ResourceAmounts {
                cpu: Some("100m".into()),
                memory: Some("128Mi".into()),
            }),
            limits: None,
        });
        let ld = ledger(spec);
        let inst = Instance::new(&ld).unwrap();
        let d = deployment(&inst, App::Transaksi, "abc123");
        assert_eq!(d.metadata.name.as_deref(), Some("ledger-transaksi"));
        let s = d.spec.as_ref().unwrap();
        assert_eq!(s.replicas, Some(3));
        assert_eq!(
            s.template
                .metadata
                .as_ref()
                .unwrap()
                .annotations
                .as_ref()
                .unwrap()[SECRET_HASH_ANNOTATION],
            "abc123"
        );
        let c = container(&d);
        assert_eq!(c.image.as_deref(), Some("bukubesar/transaksi:0.2.0"));
        assert_eq!(
            c.args.as_ref().unwrap().join(" "),
            "--host 0.0.0.0 --port 8080 --metrics-addr 0.0.0.0:9180 --db-host ledger-postgres \
             --db-port 5432 \
             --db-name transaksi --db-sslmode disable --redis-host ledger-redis \
             --redis-port 6379 --log-level info"
        );
        assert_eq!(
            secret_of(c, "DB_USER"),
            Some(("ledger-transaksi-db", "username"))
        );
        assert_eq!(
            secret_of(c, "DB_PASSWORD"),
            Some(("ledger-transaksi-db", "password"))
        );
        assert_eq!(
            secret_of(c, "REDIS_PASSWORD"),
            Some(("ledger-redis-auth", "password"))
        );
        let otlp = c
            .env
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.name == "OTEL_EXPORTER_OTLP_ENDPOINT")
            .unwrap();
        assert_eq!(otlp.value.as_deref(), Some("http://ledger-jaeger:4317"));
        let ready = c
            .readiness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap();
        assert_eq!(ready.path.as_deref(), Some("/readyz"));
        let live = c
            .liveness_probe
            .as_ref()
            .unwrap()
            .http_get
            .as_ref()
            .unwrap();
        assert_eq!(live.path.as_deref(), Some("/healthz"));
        assert_eq!(c.ports.as_ref().unwrap()[0].container_port, 8080);
        let metrics = &c.ports.as_ref().unwrap()[1];
        assert_eq!(metrics.name.as_deref(), Some("metrics"));
        assert_eq!(metrics.container_port, 9180);
        let annotations = s
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap();
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "9180");
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
        assert_eq!(
            c.resources.as_ref().unwrap().requests.as_ref().unwrap()["memory"].0,
            "128Mi"
        );
        assert!(!c.args.as_ref().unwrap().iter().any(|a| a.contains("otlp")));
    }

    #[test]
    fn mutasi_gets_stream_flags_and_its_pod_name_as_consumer() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let d = deployment(&inst, App::Mutasi, "h");
        let c = container(&d);
        let args = c.args.as_ref().unwrap().join(" ");
        assert!(args.contains("--port 8081 --metrics-addr 0.0.0.0:9181 "));
        assert_eq!(c.image.as_deref(), Some("bukubesar/mutasi:0.1.0"));
        assert!(args.contains("--db-name mutasi"));
        assert!(args.contains("--stream mutasi --group mutasi --consumer $(POD_NAME)"));
        let pod_name = c
            .env
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.name == "POD_NAME")
            .unwrap();
        assert_eq!(
            pod_name
                .value_from
                .as_ref()
                .unwrap()
                .field_ref
                .as_ref()
                .unwrap()
                .field_path,
            "metadata.name"
        );
        assert_eq!(
            secret_of(c, "DB_PASSWORD"),
            Some(("ledger-mutasi-db", "password"))
        );
        assert_eq!(
            url(&inst, App::Mutasi),
            "http://ledger-mutasi.bank.svc:8081"
        );
    }

    #[test]
    fn no_jaeger_and_no_endpoint_means_no_otlp_env() {
        let mut spec = default_spec();
        spec.jaeger.enabled = false;
        let ld = ledger(spec);
        let inst = Instance::new(&ld).unwrap();
        let d = deployment(&inst, App::Transaksi, "h");
        assert!(
            !container(&d)
                .env
                .as_ref()
                .unwrap()
                .iter()
                .any(|e| e.name == "OTEL_EXPORTER_OTLP_ENDPOINT")
        );
        let mut spec = default_spec();
        spec.jaeger.enabled = false;
        spec.otlp_endpoint = Some("http://collector:4317".into());
        let ld = ledger(spec);
        let inst = Instance::new(&ld).unwrap();
        assert_eq!(
            endpoints(&inst).otlp_endpoint.as_deref(),
            Some("http://collector:4317")
        );
    }

    #[test]
    fn service_exposes_http_and_metrics_over_tcp() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let svc = service(&inst, App::Mutasi);
        let ports = svc.spec.unwrap().ports.unwrap();
        assert_eq!(ports.len(), 2);
        let port = &ports[0];
        assert_eq!(port.port, 8081);
        assert_eq!(port.protocol.as_deref(), Some("TCP"));
        assert_eq!(port.target_port, Some(IntOrString::String("http".into())));
        let metrics = &ports[1];
        assert_eq!(metrics.name.as_deref(), Some("metrics"));
        assert_eq!(metrics.port, 9181);
        assert_eq!(metrics.protocol.as_deref(), Some("TCP"));
        assert_eq!(
            metrics.target_port,
            Some(IntOrString::String("metrics".into()))
        );
    }
}
