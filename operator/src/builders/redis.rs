//! Redis with the append-only file fsynced on every write, on a PVC: stream events between
//! publish and consume survive a restart.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodSpec, Service, ServiceSpec, VolumeMount,
};

use super::postgres::{DATA_VOLUME, data_statefulset};
use super::secrets::redis_secret_name;
use super::{Component, Instance, env_from_secret, exec_probe, resources, security, tcp_port};

pub const PORT: i32 = 6379;

pub fn service(inst: &Instance) -> Service {
    Service {
        metadata: inst.meta(inst.child_name(Component::Redis), Component::Redis),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            selector: Some(inst.selector_labels(Component::Redis)),
            ports: Some(vec![tcp_port("redis", PORT)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn statefulset(inst: &Instance) -> StatefulSet {
    let spec = &inst.spec.redis;
    let secret = redis_secret_name(inst);
    let ping = ["sh", "-c", "redis-cli -h 127.0.0.1 ping | grep -q PONG"];
    let container = Container {
        name: "redis".to_owned(),
        image: Some(spec.image.clone()),
        command: Some(vec!["redis-server".to_owned()]),
        args: Some(
            [
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                "/data",
                "--requirepass",
                "$(REDIS_PASSWORD)",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        ports: Some(vec![ContainerPort {
            name: Some("redis".to_owned()),
            container_port: PORT,
            protocol: Some("TCP".to_owned()),
            ..Default::default()
        }]),
        env: Some(vec![
            env_from_secret("REDIS_PASSWORD", &secret, "password"),
            // redis-cli (probes) reads the password from here, not from its command line.
            env_from_secret("REDISCLI_AUTH", &secret, "password"),
        ]),
        volume_mounts: Some(vec![VolumeMount {
            name: DATA_VOLUME.to_owned(),
            mount_path: "/data".to_owned(),
            ..Default::default()
        }]),
        readiness_probe: Some(exec_probe(&ping, 5, 3, 2)),
        liveness_probe: Some(exec_probe(&ping, 10, 6, 15)),
        resources: Some(resources::of(Component::Redis, spec.resources.as_ref())),
        security_context: Some(security::container(Component::Redis)),
        ..Default::default()
    };
    let pod = PodSpec {
        containers: vec![container],
        security_context: Some(security::pod(Component::Redis)),
        ..Default::default()
    };
    data_statefulset(inst, Component::Redis, pod, &spec.storage, "1Gi")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::testing::*;

    #[test]
    fn redis_runs_with_fsynced_aof_on_a_pvc_and_a_password() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let s = statefulset(&inst).spec.unwrap();
        let c = &s.template.spec.as_ref().unwrap().containers[0];
        let args = c.args.as_ref().unwrap().join(" ");
        assert!(args.contains("--appendonly yes --appendfsync always"));
        assert!(args.contains("--requirepass $(REDIS_PASSWORD)"));
        assert_eq!(c.volume_mounts.as_ref().unwrap()[0].mount_path, "/data");
        let claims = s.volume_claim_templates.unwrap();
        assert_eq!(claims.len(), 1);
        let requests = claims[0].spec.as_ref().unwrap().resources.as_ref().unwrap();
        assert_eq!(requests.requests.as_ref().unwrap()["storage"].0, "1Gi");
        let env = c.env.as_ref().unwrap();
        assert_eq!(
            env[0]
                .value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .as_ref()
                .unwrap()
                .name,
            "ledger-redis-auth"
        );
        assert_eq!(
            service(&inst).spec.unwrap().ports.unwrap()[0]
                .protocol
                .as_deref(),
            Some("TCP")
        );
    }
}
