//! The `operator` binary end to end against the envtest API server: `operator crd`, and
//! `operator run` as the Helm chart's ServiceAccount (kubeconfig `as:` impersonation) serving
//! /healthz, /readyz and /metrics, holding the leader Lease, logging JSON lines, reconciling,
//! and releasing the Lease on SIGTERM. Same rules as `envtest.rs`: no API server is a failure
//! unless BUKUBESAR_ALLOW_SKIP_K8S=1.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use kube::config::Kubeconfig;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

use bukubesar_testkit::otlp::OtlpReceiver;
use bukubesar_testkit::prometheus;

use operator::crd::LedgerDeployment;
use support::{SA_NAMESPACE, admin, wait_for};

#[test]
fn crd_subcommand_prints_the_committed_crd() {
    let out = Command::new(env!("CARGO_BIN_EXE_operator"))
        .arg("crd")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crds/ledgerdeployment.yaml"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

/// GET `path` on 127.0.0.1:`port`; (status code, body).
async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    Some((code, body))
}

/// Kills the child if the test fails half-way.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn run_serves_health_metrics_leads_reconciles_and_releases_on_sigterm() {
    let Some(admin) = admin().await else { return };
    let sa = std::env::var("BUKUBESAR_OPERATOR_SA")
        .unwrap_or_else(|_| format!("system:serviceaccount:{SA_NAMESPACE}:bukubesar-operator"));
    let suffix = operator::builders::secrets::random_password()[..6].to_lowercase();
    let ns = format!("bin-{suffix}");
    let lease_name = format!("bin-lease-{suffix}");
    let identity = format!("bin-{suffix}");
    Api::<Namespace>::all(admin.clone())
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some(ns.clone()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig_as(&sa, dir.path());

    let port = free_port();
    let receiver = OtlpReceiver::start().await;
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_operator"))
            .args(["run", "--health-addr", &format!("127.0.0.1:{port}")])
            .args(["--otlp-endpoint", receiver.endpoint()])
            .args([
                "--lease-name",
                &lease_name,
                "--lease-namespace",
                SA_NAMESPACE,
            ])
            .args(["--identity", &identity, "--namespace", &ns])
            .env("KUBECONFIG", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let stdout = child.0.stdout.take().unwrap();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });

    let (code, body) = wait_for("/healthz", || get(port, "/healthz")).await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    wait_for("/readyz 200", || async {
        (get(port, "/readyz").await?.0 == 200).then_some(())
    })
    .await;
    wait_for("leadership in /metrics", || async {
        let (_, body) = get(port, "/metrics").await?;
        body.contains("bukubesar_operator_leader 1").then_some(())
    })
    .await;
    let leases: Api<Lease> = Api::namespaced(admin.clone(), SA_NAMESPACE);
    let lease = leases.get(&lease_name).await.unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some(identity.as_str())
    );

    // It reconciles: a LedgerDeployment in its namespace gets its Deployments.
    let lds: Api<LedgerDeployment> = Api::namespaced(admin.clone(), &ns);
    let ld: LedgerDeployment = serde_json::from_value(json!({
        "apiVersion": "bukubesar.io/v1alpha1", "kind": "LedgerDeployment",
        "metadata": {"name": "ledger"}, "spec": {}
    }))
    .unwrap();
    lds.create(&PostParams::default(), &ld).await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns);
    wait_for("ledger-mutasi", || async {
        deployments.get_opt("ledger-mutasi").await.ok()?
    })
    .await;
    wait_for("reconcile counts in /metrics", || async {
        let (_, body) = get(port, "/metrics").await?;
        let metrics = prometheus::parse(&body);
        (metrics.value(
            "bukubesar_operator_reconciles_total",
            &[("result", "success")],
        ) > 0.0
            && metrics.has("bukubesar_operator_reconcile_duration_seconds", "histogram"))
        .then_some(())
    })
    .await;

    // SIGTERM: clean exit, Lease released.
    sigterm(&child.0);
    let exit = wait_exit(&mut child.0, Duration::from_secs(5)).await;
    assert!(exit.success(), "operator exited with {exit}");
    let lease = leases.get(&lease_name).await.unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity,
        None,
        "Lease not released"
    );

    // Logs are the services' JSON lines.
    let lines = lines.lock().unwrap().clone();
    assert!(!lines.is_empty());
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(v["timestamp"].is_string(), "{line}");
        let level = v["level"].as_str().unwrap_or_default();
        assert!(
            ["INFO", "WARNING", "ERROR", "CRITICAL"].contains(&level),
            "{line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("acquired the leader Lease"))
    );

    // Reconciles are traced and exported (flushed at exit) as bukubesar-operator.
    let reconciles: Vec<_> = receiver
        .spans()
        .into_iter()
        .filter(|s| {
            s.name == "reconcile" && s.attributes.get("name").map(String::as_str) == Some("ledger")
        })
        .collect();
    assert!(!reconciles.is_empty(), "no reconcile span received");
    assert!(
        reconciles
            .iter()
            .all(|s| s.service == "bukubesar-operator" && s.parent_span_id.is_empty()),
        "{reconciles:#?}"
    );
}

/// A kubeconfig (in `dir`) that impersonates the ServiceAccount `sa` on top of $KUBECONFIG.
fn kubeconfig_as(sa: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let sa_namespace = sa.split(':').nth(2).unwrap_or_default().to_owned();
    let mut kubeconfig = Kubeconfig::read().unwrap();
    for user in &mut kubeconfig.auth_infos {
        if let Some(info) = user.auth_info.as_mut() {
            info.impersonate = Some(sa.to_owned());
            info.impersonate_groups = Some(vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{sa_namespace}"),
                "system:authenticated".into(),
            ]);
        }
    }
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_vec(&kubeconfig).unwrap()).unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sigterm(child: &std::process::Child) {
    // through sh's builtin: /bin/kill (procps) is not on every minimal Debian
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
}

async fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            return exit;
        }
        assert!(started.elapsed() < limit, "no exit {limit:?} after SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// While its watches fail (here: RBAC forbids the namespace), SIGTERM still ends the process
/// within the controller's shutdown grace.
#[tokio::test]
async fn sigterm_ends_the_process_even_while_watches_fail() {
    let Some(_admin) = admin().await else { return };
    let sa = std::env::var("BUKUBESAR_SCOPED_OPERATOR_SA").unwrap_or_else(|_| {
        "system:serviceaccount:bukubesar-scoped:bukubesar-operator-scoped".into()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig_as(&sa, dir.path());
    let port = free_port();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_operator"))
            .args(["run", "--health-addr", &format!("127.0.0.1:{port}")])
            .args(["--leader-elect", "false", "--namespace", "default"])
            .args(["--shutdown-grace-secs", "2"])
            .env("KUBECONFIG", &path)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("/healthz", || get(port, "/healthz")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    sigterm(&child.0);
    let exit = wait_exit(&mut child.0, Duration::from_secs(8)).await;
    assert!(exit.success(), "operator exited with {exit}");
}
