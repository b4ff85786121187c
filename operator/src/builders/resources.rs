//! What each pod may use: the CPU and memory a component requests (and its memory limit) when
//! its spec names none, so that the scheduler can place it and a leak cannot take the node.
//! A spec's `resources` replaces these entirely.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::Component;
use crate::crd::Resources;

/// (cpu request, memory request, memory limit) of a component by default.
pub fn defaults(component: Component) -> (&'static str, &'static str, &'static str) {
    match component {
        Component::Postgres => ("250m", "256Mi", "1Gi"),
        Component::Redis => ("50m", "64Mi", "512Mi"),
        Component::Transaksi | Component::Mutasi => ("100m", "128Mi", "512Mi"),
        Component::Jaeger => ("50m", "128Mi", "512Mi"),
    }
}

/// The spec's resources, or the component's defaults.
pub fn of(component: Component, spec: Option<&Resources>) -> ResourceRequirements {
    if let Some(resources) = spec {
        return resources.to_requirements();
    }
    let (cpu, memory, memory_limit) = defaults(component);
    let quantity = |q: &str| Quantity(q.to_owned());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), quantity(cpu)),
            ("memory".to_owned(), quantity(memory)),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            quantity(memory_limit),
        )])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::ResourceAmounts;

    #[test]
    fn every_component_requests_cpu_and_memory_and_has_a_memory_limit() {
        for component in Component::ALL {
            let r = of(component, None);
            let requests = r.requests.unwrap();
            assert!(requests.contains_key("cpu") && requests.contains_key("memory"));
            assert!(r.limits.unwrap().contains_key("memory"), "{component:?}");
        }
    }

    #[test]
    fn a_spec_replaces_the_defaults() {
        let spec = Resources {
            requests: Some(ResourceAmounts {
                cpu: Some("2".into()),
                memory: None,
            }),
            limits: None,
        };
        let r = of(Component::Transaksi, Some(&spec));
        assert_eq!(r.requests.unwrap()["cpu"], Quantity("2".into()));
        assert_eq!(r.limits, None);
    }
}
