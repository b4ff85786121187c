//! The NetworkPolicy of a LedgerDeployment: who may reach the transaksi and mutasi pods.
//! Their API ports (8080, 8081) are open to every pod (and, through the Services, to whatever
//! the cluster routes in); their private `/metrics` ports (9180, 9181) only to the scrapers of
//! `spec.metrics.scrapers` (by default pods labelled `app.kubernetes.io/name: prometheus`, in
//! any namespace). Every other port of those pods is closed to ingress.
//!
//! PostgreSQL, Redis and Jaeger are not selected: their only clients are the ledger's own pods,
//! but a policy on them would also cut what operators reach them with (a port-forward through a
//! CNI that filters it, a psql pod, an external Redis or collector's other clients), which the
//! platform does not know; narrowing them is left to the cluster's own policies.
//! A CNI without NetworkPolicy support (e.g. the plain bridge plugin) ignores the object.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::secrets::App;
use super::{
    APP_NAME, Component, Instance, LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME,
    MANAGED_BY,
};

/// The NetworkPolicy's name: `<name>-ingress`.
pub fn name(inst: &Instance) -> String {
    format!("{}-ingress", inst.name)
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_owned()),
        ..Default::default()
    }
}

/// The policy (see the module's documentation).
pub fn network_policy(inst: &Instance) -> NetworkPolicy {
    let apps = [App::Transaksi, App::Mutasi];
    let scrapers = &inst.spec.metrics.scrapers;
    let labels = [
        (LABEL_NAME, APP_NAME),
        (LABEL_INSTANCE, inst.name.as_str()),
        (LABEL_MANAGED_BY, MANAGED_BY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some(name(inst)),
            namespace: Some(inst.namespace.clone()),
            labels: Some(labels),
            owner_references: Some(vec![inst.owner.clone()]),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(
                    [(LABEL_NAME, APP_NAME), (LABEL_INSTANCE, inst.name.as_str())]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                ),
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: LABEL_COMPONENT.to_owned(),
                    operator: "In".to_owned(),
                    values: Some(vec![
                        Component::Transaksi.as_str().to_owned(),
                        Component::Mutasi.as_str().to_owned(),
                    ]),
                }]),
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![
                // The APIs: from anywhere (no `from`).
                NetworkPolicyIngressRule {
                    from: None,
                    ports: Some(apps.map(|app| tcp(app.port())).to_vec()),
                },
                // /metrics: from the scrapers only. A namespace selector is always given (an
                // empty one is every namespace; without it, only this namespace's pods).
                NetworkPolicyIngressRule {
                    from: Some(vec![NetworkPolicyPeer {
                        pod_selector: Some(LabelSelector {
                            match_labels: Some(scrapers.pod_labels.clone()),
                            ..Default::default()
                        }),
                        namespace_selector: Some(LabelSelector {
                            match_labels: (!scrapers.namespace_labels.is_empty())
                                .then(|| scrapers.namespace_labels.clone()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ports: Some(apps.map(|app| tcp(app.metrics_port())).to_vec()),
                },
            ]),
            ..Default::default()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::testing::*;

    fn ports(rule: &NetworkPolicyIngressRule) -> Vec<i32> {
        rule.ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| match p.port.as_ref().unwrap() {
                IntOrString::Int(port) => *port,
                IntOrString::String(name) => panic!("a named port {name}"),
            })
            .collect()
    }

    #[test]
    fn api_ports_open_metrics_ports_for_prometheus_only() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let policy = network_policy(&inst);
        assert_eq!(policy.metadata.name.as_deref(), Some("ledger-ingress"));
        assert_eq!(policy.metadata.namespace.as_deref(), Some("bank"));
        let owner = &policy.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(owner.kind, "LedgerDeployment");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(
            policy.metadata.labels.as_ref().unwrap()[LABEL_MANAGED_BY],
            MANAGED_BY,
            "watched by the operator like its other children"
        );
        let spec = policy.spec.unwrap();
        assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned()]));
        let selector = spec.pod_selector.unwrap();
        assert_eq!(
            selector.match_labels.as_ref().unwrap()[LABEL_INSTANCE],
            "ledger"
        );
        let components = &selector.match_expressions.as_ref().unwrap()[0];
        assert_eq!(components.key, LABEL_COMPONENT);
        assert_eq!(components.operator, "In");
        assert_eq!(
            components.values,
            Some(vec!["transaksi".to_owned(), "mutasi".to_owned()])
        );
        let ingress = spec.ingress.unwrap();
        assert_eq!(ingress.len(), 2);
        assert!(ingress[0].from.is_none(), "the APIs: from anywhere");
        assert_eq!(ports(&ingress[0]), [8080, 8081]);
        assert_eq!(ports(&ingress[1]), [9180, 9181]);
        let from = ingress[1].from.as_ref().unwrap();
        assert_eq!(from.len(), 1);
        assert_eq!(
            from[0]
                .pod_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()["app.kubernetes.io/name"],
            "prometheus"
        );
        let namespaces = from[0].namespace_selector.as_ref().unwrap();
        assert_eq!(namespaces, &LabelSelector::default(), "any namespace");
        assert_eq!(
            serde_json::to_value(namespaces).unwrap(),
            serde_json::json!({}),
            "serialised as {{}}, which selects every namespace"
        );
    }

    #[test]
    fn scrapers_follow_the_spec() {
        let spec = serde_json::from_str(
            r#"{"metrics": {"scrapers": {"podLabels": {"app": "vmagent"}, "namespaceLabels": {"team": "observability"}}}}"#,
        )
        .unwrap();
        let ld = ledger(spec);
        let inst = Instance::new(&ld).unwrap();
        let ingress = network_policy(&inst).spec.unwrap().ingress.unwrap();
        let peer = &ingress[1].from.as_ref().unwrap()[0];
        let pods = peer
            .pod_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap();
        assert_eq!(pods.len(), 1);
        assert_eq!(pods["app"], "vmagent");
        let namespaces = peer
            .namespace_selector
            .as_ref()
            .unwrap()
            .match_labels
            .as_ref()
            .unwrap();
        assert_eq!(namespaces["team"], "observability");
    }
}
