//! Status computation: from what the children report to `LedgerDeploymentStatus` (conditions
//! `Ready`, `Progressing`, `Degraded`, per-component readiness). Pure, unit-tested.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::builders::Component;
use crate::crd::{ComponentStatus, LedgerDeploymentStatus};

pub const READY: &str = "Ready";
pub const PROGRESSING: &str = "Progressing";
pub const DEGRADED: &str = "Degraded";

/// What a Deployment or StatefulSet reports about its pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    pub desired: i32,
    pub ready: i32,
    pub updated: Option<i32>,
    /// `status.observedGeneration >= metadata.generation`: the controller has seen the spec.
    pub observed: bool,
}

impl Workload {
    pub fn is_ready(&self) -> bool {
        self.observed
            && self.ready >= self.desired
            && self.updated.is_none_or(|u| u >= self.desired)
    }

    pub fn from_deployment(d: &Deployment) -> Self {
        let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = d.status.clone().unwrap_or_default();
        Workload {
            desired,
            ready: status.ready_replicas.unwrap_or(0),
            updated: Some(status.updated_replicas.unwrap_or(0)),
            observed: status.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
                && status.observed_generation.is_some(),
        }
    }

    pub fn from_statefulset(s: &StatefulSet) -> Self {
        let desired = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = s.status.clone().unwrap_or_default();
        Workload {
            desired,
            ready: status.ready_replicas.unwrap_or(0),
            updated: None,
            observed: status.observed_generation.unwrap_or(0) >= s.metadata.generation.unwrap_or(0)
                && status.observed_generation.is_some(),
        }
    }
}

/// One component as observed: `None` when its workload does not exist (yet).
pub type Observed = (Component, Option<Workload>);

pub fn component_status(component: Component, workload: Option<Workload>) -> ComponentStatus {
    match workload {
        None => ComponentStatus {
            name: component.as_str().to_owned(),
            ready: false,
            desired_replicas: 0,
            ready_replicas: 0,
            message: Some("workload not found".to_owned()),
        },
        Some(w) => ComponentStatus {
            name: component.as_str().to_owned(),
            ready: w.is_ready(),
            desired_replicas: w.desired,
            ready_replicas: w.ready,
            message: (!w.observed).then(|| "rollout not yet observed".to_owned()),
        },
    }
}

fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    previous: Option<&LedgerDeploymentStatus>,
    now: &Time,
) -> Condition {
    let status = if ok { "True" } else { "False" };
    // lastTransitionTime moves only when the status flips.
    let last_transition_time = previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

/// Everything the status is computed from.
pub struct Inputs<'a> {
    pub generation: Option<i64>,
    pub observed: &'a [Observed],
    /// The error of this reconcile, if it failed part-way.
    pub error: Option<&'a str>,
    pub previous: Option<&'a LedgerDeploymentStatus>,
    pub transaksi_url: String,
    pub mutasi_url: String,
    pub now: Time,
}

pub fn compute(inputs: Inputs<'_>) -> LedgerDeploymentStatus {
    let components: Vec<ComponentStatus> = inputs
        .observed
        .iter()
        .map(|(c, w)| component_status(*c, *w))
        .collect();
    let waiting: Vec<String> = components
        .iter()
        .filter(|c| !c.ready)
        .map(|c| format!("{} ({}/{})", c.name, c.ready_replicas, c.desired_replicas))
        .collect();
    let (g, p, now) = (inputs.generation, inputs.previous, &inputs.now);
    let conditions = verdicts(inputs.error, &waiting)
        .into_iter()
        .map(|(type_, ok, reason, message)| condition(type_, ok, reason, message, g, p, now))
        .collect();
    let replicas = |component: Component| {
        components
            .iter()
            .find(|c| c.name == component.as_str())
            .map(|c| format!("{}/{}", c.ready_replicas, c.desired_replicas))
    };
    LedgerDeploymentStatus {
        observed_generation: g,
        conditions,
        transaksi_replicas: replicas(Component::Transaksi),
        mutasi_replicas: replicas(Component::Mutasi),
        components,
        transaksi_url: Some(inputs.transaksi_url),
        mutasi_url: Some(inputs.mutasi_url),
    }
}

/// Ready, Progressing and Degraded as (type, status, reason, message), from this reconcile's
/// error and the components still `waiting`.
fn verdicts(
    error: Option<&str>,
    waiting: &[String],
) -> [(&'static str, bool, &'static str, String); 3] {
    let all_ready = waiting.is_empty();
    let (ready_reason, ready_message) = match (error, all_ready) {
        (Some(e), _) => ("ReconcileFailed", format!("reconcile failed: {e}")),
        (None, true) => (
            "AllComponentsReady",
            "every component reports ready replicas".to_owned(),
        ),
        (None, false) => (
            "ComponentsNotReady",
            format!("waiting for {}", waiting.join(", ")),
        ),
    };
    let progressing = if all_ready {
        (
            PROGRESSING,
            false,
            "RolloutComplete",
            "every component is rolled out".to_owned(),
        )
    } else {
        (
            PROGRESSING,
            true,
            "RollingOut",
            format!("waiting for {}", waiting.join(", ")),
        )
    };
    let (degraded_reason, degraded_message) = match error {
        Some(e) => ("ReconcileFailed", e.to_owned()),
        None => ("AsExpected", "the last reconcile succeeded".to_owned()),
    };
    [
        (
            READY,
            error.is_none() && all_ready,
            ready_reason,
            ready_message,
        ),
        progressing,
        (DEGRADED, error.is_some(), degraded_reason, degraded_message),
    ]
}

/// The `Ready` condition's message (why it is what it is).
pub fn ready_message(status: &LedgerDeploymentStatus) -> String {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == READY)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Whether a status says `Ready=True`.
pub fn is_ready(status: &LedgerDeploymentStatus) -> bool {
    status
        .conditions
        .iter()
        .any(|c| c.type_ == READY && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};
    use k8s_openapi::jiff::Timestamp;

    fn ready(n: i32) -> Option<Workload> {
        Some(Workload {
            desired: n,
            ready: n,
            updated: Some(n),
            observed: true,
        })
    }

    fn time(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    fn inputs<'a>(
        observed: &'a [Observed],
        error: Option<&'a str>,
        previous: Option<&'a LedgerDeploymentStatus>,
        now: i64,
    ) -> Inputs<'a> {
        Inputs {
            generation: Some(4),
            observed,
            error,
            previous,
            transaksi_url: "http://t".into(),
            mutasi_url: "http://m".into(),
            now: time(now),
        }
    }

    fn cond<'a>(s: &'a LedgerDeploymentStatus, t: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn all_ready_means_ready_true() {
        let observed = [
            (Component::Postgres, ready(1)),
            (Component::Transaksi, ready(2)),
        ];
        let s = compute(inputs(&observed, None, None, 100));
        assert!(is_ready(&s));
        assert_eq!(s.observed_generation, Some(4));
        assert_eq!(cond(&s, PROGRESSING).status, "False");
        assert_eq!(cond(&s, DEGRADED).status, "False");
        assert_eq!(cond(&s, READY).reason, "AllComponentsReady");
        assert!(s.components.iter().all(|c| c.ready));
        assert_eq!(s.transaksi_url.as_deref(), Some("http://t"));
        assert_eq!(s.transaksi_replicas.as_deref(), Some("2/2"));
        assert_eq!(s.mutasi_replicas, None, "not observed, no column value");
    }

    #[test]
    fn a_missing_or_short_component_is_not_ready_and_named() {
        let short = Some(Workload {
            desired: 3,
            ready: 1,
            updated: Some(3),
            observed: true,
        });
        let observed = [
            (Component::Postgres, None),
            (Component::Transaksi, short),
            (Component::Mutasi, ready(0)),
        ];
        let s = compute(inputs(&observed, None, None, 100));
        assert!(!is_ready(&s));
        let r = cond(&s, READY);
        assert_eq!(r.reason, "ComponentsNotReady");
        assert_eq!(r.message, "waiting for postgres (0/0), transaksi (1/3)");
        assert_eq!(cond(&s, PROGRESSING).status, "True");
        assert!(s.components[2].ready, "zero replicas wanted is ready");
        assert_eq!(s.transaksi_replicas.as_deref(), Some("1/3"));
        assert_eq!(s.mutasi_replicas.as_deref(), Some("0/0"));
    }

    #[test]
    fn unobserved_generation_is_not_ready() {
        let w = Workload {
            desired: 1,
            ready: 1,
            updated: Some(1),
            observed: false,
        };
        assert!(!w.is_ready());
        let stale = Workload {
            updated: Some(0),
            observed: true,
            ..w
        };
        assert!(!stale.is_ready());
    }

    #[test]
    fn errors_make_degraded_true_and_ready_false() {
        let observed = [(Component::Postgres, ready(1))];
        let s = compute(inputs(
            &observed,
            Some("apply failed: forbidden"),
            None,
            100,
        ));
        assert_eq!(cond(&s, DEGRADED).status, "True");
        assert_eq!(cond(&s, DEGRADED).message, "apply failed: forbidden");
        assert_eq!(cond(&s, READY).status, "False");
        assert_eq!(cond(&s, READY).reason, "ReconcileFailed");
    }

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let observed = [(Component::Postgres, ready(1))];
        let first = compute(inputs(&observed, None, None, 100));
        let second = compute(inputs(&observed, None, Some(&first), 200));
        assert_eq!(cond(&second, READY).last_transition_time, time(100));
        let not_ready = [(Component::Postgres, None)];
        let third = compute(inputs(&not_ready, None, Some(&second), 300));
        assert_eq!(cond(&third, READY).last_transition_time, time(300));
        assert_eq!(cond(&third, DEGRADED).last_transition_time, time(100));
    }

    #[test]
    fn deployment_readiness_reads_status() {
        let mut d = Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(2),
                ..Default::default()
            }),
            ..Default::default()
        };
        d.metadata.generation = Some(3);
        assert!(!Workload::from_deployment(&d).is_ready());
        d.status = Some(DeploymentStatus {
            observed_generation: Some(3),
            ready_replicas: Some(2),
            updated_replicas: Some(2),
            ..Default::default()
        });
        assert!(Workload::from_deployment(&d).is_ready());
        d.metadata.generation = Some(4);
        assert!(!Workload::from_deployment(&d).is_ready());
    }
}
