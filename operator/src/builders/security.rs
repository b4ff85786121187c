//! What each pod may do: the security contexts of the platform's pods. Everything runs with
//! the runtime's default seccomp profile, without privilege escalation and with no Linux
//! capability it does not need; the services and Redis run as non-root users on a read-only
//! root file system. PostgreSQL's entry point (the official image's contract) starts as root
//! only to hand the data directory to the `postgres` user, so it keeps exactly the
//! capabilities that takes and drops to uid 999 itself.

use k8s_openapi::api::core::v1::{
    Capabilities, EmptyDirVolumeSource, PodSecurityContext, SeccompProfile, SecurityContext,
    Volume, VolumeMount,
};

use super::Component;

/// The distroless images' user (transaksi, mutasi).
pub const SERVICE_UID: i64 = 65532;
/// The official postgres and redis images' user.
pub const DATA_UID: i64 = 999;

/// The pod-level settings of `component`'s pods.
pub fn pod(component: Component) -> PodSecurityContext {
    let seccomp = Some(SeccompProfile {
        type_: "RuntimeDefault".to_owned(),
        ..Default::default()
    });
    match component {
        Component::Transaksi | Component::Mutasi => PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(SERVICE_UID),
            run_as_group: Some(SERVICE_UID),
            seccomp_profile: seccomp,
            ..Default::default()
        },
        Component::Redis => PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(DATA_UID),
            run_as_group: Some(DATA_UID),
            fs_group: Some(DATA_UID),
            seccomp_profile: seccomp,
            ..Default::default()
        },
        Component::Postgres => PodSecurityContext {
            fs_group: Some(DATA_UID),
            seccomp_profile: seccomp,
            ..Default::default()
        },
        Component::Jaeger => PodSecurityContext {
            run_as_non_root: Some(true),
            seccomp_profile: seccomp,
            ..Default::default()
        },
    }
}

/// The container-level settings of `component`'s container.
pub fn container(component: Component) -> SecurityContext {
    let capabilities = match component {
        // the entry point's root phase: own the data directory (CHOWN, FOWNER, DAC_OVERRIDE),
        // then become postgres (SETUID, SETGID)
        Component::Postgres => ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
            .map(str::to_owned)
            .to_vec(),
        _ => Vec::new(),
    };
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            add: (!capabilities.is_empty()).then_some(capabilities),
        }),
        ..Default::default()
    }
}

/// The writable directories a component needs on its read-only root file system, as
/// memory-backed emptyDir volumes and their mounts: (volumes, mounts).
pub fn scratch(component: Component) -> (Vec<Volume>, Vec<VolumeMount>) {
    let paths: &[(&str, &str)] = match component {
        Component::Postgres => &[("run", "/var/run/postgresql"), ("tmp", "/tmp")],
        Component::Jaeger => &[("tmp", "/tmp")],
        Component::Redis | Component::Transaksi | Component::Mutasi => &[],
    };
    paths
        .iter()
        .map(|(name, path)| {
            let volume = Volume {
                name: (*name).to_owned(),
                empty_dir: Some(EmptyDirVolumeSource {
                    medium: Some("Memory".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let mount = VolumeMount {
                name: (*name).to_owned(),
                mount_path: (*path).to_owned(),
                ..Default::default()
            };
            (volume, mount)
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_container_drops_all_capabilities_and_cannot_escalate() {
        for component in Component::ALL {
            let c = container(component);
            assert_eq!(c.allow_privilege_escalation, Some(false), "{component:?}");
            assert_eq!(c.read_only_root_filesystem, Some(true), "{component:?}");
            let caps = c.capabilities.unwrap();
            assert_eq!(caps.drop, Some(vec!["ALL".to_owned()]), "{component:?}");
            let seccomp = pod(component).seccomp_profile.unwrap();
            assert_eq!(seccomp.type_, "RuntimeDefault", "{component:?}");
        }
    }

    #[test]
    fn only_postgres_starts_as_root_and_only_with_what_its_entry_point_needs() {
        for component in Component::ALL {
            let p = pod(component);
            let added = container(component).capabilities.unwrap().add;
            if component == Component::Postgres {
                assert_eq!(p.run_as_non_root, None);
                assert_eq!(
                    added.unwrap(),
                    ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
                );
            } else {
                assert_eq!(p.run_as_non_root, Some(true), "{component:?}");
                assert_eq!(added, None, "{component:?}");
            }
        }
        assert_eq!(pod(Component::Transaksi).run_as_user, Some(65532));
        assert_eq!(pod(Component::Redis).run_as_user, Some(999));
    }

    #[test]
    fn read_only_roots_get_their_scratch_directories() {
        let (volumes, mounts) = scratch(Component::Postgres);
        let paths: Vec<&str> = mounts.iter().map(|m| m.mount_path.as_str()).collect();
        assert_eq!(paths, ["/var/run/postgresql", "/tmp"]);
        assert!(volumes.iter().all(|v| v.empty_dir.is_some()));
        assert!(scratch(Component::Transaksi).0.is_empty());
    }
}
