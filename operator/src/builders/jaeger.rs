//! Jaeger all-in-one: receives OTLP from the services, serves the UI on 16686.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, HTTPGetAction, PodSpec, PodTemplateSpec, Probe, Service, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Component, Instance, env, resources, security, tcp_port};

pub const OTLP_GRPC_PORT: i32 = 4317;
pub const OTLP_HTTP_PORT: i32 = 4318;
pub const UI_PORT: i32 = 16686;
/// Admin port: `/` answers 200 when the collector is up.
pub const ADMIN_PORT: i32 = 14269;

const PORTS: [(&str, i32); 4] = [
    ("otlp-grpc", OTLP_GRPC_PORT),
    ("otlp-http", OTLP_HTTP_PORT),
    ("ui", UI_PORT),
    ("admin", ADMIN_PORT),
];

pub fn deployment(inst: &Instance) -> Deployment {
    let probe = Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/".to_owned()),
            port: IntOrString::String("admin".to_owned()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    };
    let (volumes, mounts) = security::scratch(Component::Jaeger);
    let container = Container {
        name: "jaeger".to_owned(),
        image: Some(inst.spec.jaeger.image.clone()),
        env: Some(vec![env("COLLECTOR_OTLP_ENABLED", "true")]),
        ports: Some(
            PORTS
                .iter()
                .map(|(name, port)| ContainerPort {
                    name: Some((*name).to_owned()),
                    container_port: *port,
                    protocol: Some("TCP".to_owned()),
                    ..Default::default()
                })
                .collect(),
        ),
        readiness_probe: Some(probe.clone()),
        liveness_probe: Some(probe),
        volume_mounts: Some(mounts),
        resources: Some(resources::of(Component::Jaeger, None)),
        security_context: Some(security::container(Component::Jaeger)),
        ..Default::default()
    };
    Deployment {
        metadata: inst.meta(inst.child_name(Component::Jaeger), Component::Jaeger),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: inst.selector(Component::Jaeger),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(inst.labels(Component::Jaeger)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    volumes: Some(volumes),
                    security_context: Some(security::pod(Component::Jaeger)),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn service(inst: &Instance) -> Service {
    Service {
        metadata: inst.meta(inst.child_name(Component::Jaeger), Component::Jaeger),
        spec: Some(ServiceSpec {
            selector: Some(inst.selector_labels(Component::Jaeger)),
            ports: Some(
                PORTS[..3]
                    .iter()
                    .map(|(name, port)| tcp_port(name, *port))
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::testing::*;

    #[test]
    fn jaeger_exposes_otlp_and_ui() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let ports: Vec<i32> = service(&inst)
            .spec
            .unwrap()
            .ports
            .unwrap()
            .iter()
            .map(|p| p.port)
            .collect();
        assert_eq!(ports, [4317, 4318, 16686]);
        let d = deployment(&inst);
        let c = &d.spec.unwrap().template.spec.unwrap().containers[0];
        assert_eq!(c.image.as_deref(), Some("jaegertracing/all-in-one:1.60"));
    }
}
