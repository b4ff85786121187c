//! The Redis container's command line, as the operator builds it, run against a local
//! `redis-server` (Debian's redis-server; scripts/test-operator.sh installs it; fails without
//! it): a stream entry written before a crash (SIGKILL) is there after the restart, the
//! password is required, and the readiness probe's command succeeds only with the password.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use operator::builders::Instance;
use operator::builders::redis::statefulset;
use operator::crd::LedgerDeployment;

const PASSWORD: &str = "Redis0Password1From2The3Secret45";

fn ledger() -> LedgerDeployment {
    let mut ld = LedgerDeployment::new("ledger", serde_json::from_str("{}").unwrap());
    ld.metadata.namespace = Some("bank".into());
    ld.metadata.uid = Some("uid-1".into());
    ld
}

/// The container's command + args with `$(REDIS_PASSWORD)` expanded as the kubelet does, the
/// data directory moved to `dir`, and a free local port.
fn command_line(dir: &Path, port: u16) -> (Vec<String>, Vec<String>) {
    let ld = ledger();
    let inst = Instance::new(&ld).unwrap();
    let sts = statefulset(&inst);
    let container = &sts.spec.unwrap().template.spec.unwrap().containers[0];
    let mut argv = container.command.clone().unwrap();
    argv.extend(
        container
            .args
            .clone()
            .unwrap()
            .into_iter()
            .map(|a| a.replace("$(REDIS_PASSWORD)", PASSWORD))
            .map(|a| {
                if a == "/data" {
                    dir.display().to_string()
                } else {
                    a
                }
            }),
    );
    argv.extend([
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
    ]);
    let probe = container
        .readiness_probe
        .clone()
        .unwrap()
        .exec
        .unwrap()
        .command
        .unwrap();
    (argv, probe)
}

fn start(argv: &[String]) -> Child {
    Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .spawn()
        .expect(
            "redis-server not found: apt-get install redis-server (scripts/test-operator.sh does)",
        )
}

fn cli(port: u16, password: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new("redis-cli");
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args);
    cmd.env_remove("REDISCLI_AUTH");
    if let Some(p) = password {
        cmd.env("REDISCLI_AUTH", p);
    }
    cmd.output().unwrap()
}

fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = cli(port, Some(PASSWORD), &["ping"]);
        if String::from_utf8_lossy(&out.stdout).trim() == "PONG" {
            return;
        }
        assert!(Instant::now() < deadline, "redis-server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn stream_entries_survive_a_crash_and_the_password_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (argv, probe) = command_line(dir.path(), port);
    assert!(
        argv.join(" ")
            .contains("--appendonly yes --appendfsync always")
    );

    let mut server = start(&argv);
    wait_ready(port);
    let added = cli(
        port,
        Some(PASSWORD),
        &["XADD", "mutasi", "*", "event", "tabung", "amount", "100.00"],
    );
    assert!(added.status.success());
    let id = String::from_utf8_lossy(&added.stdout).trim().to_owned();
    assert!(id.contains('-'), "XADD answered {id:?}");

    // Without the password: refused.
    let anonymous = cli(port, None, &["XLEN", "mutasi"]);
    assert!(
        String::from_utf8_lossy(&anonymous.stdout).contains("NOAUTH"),
        "{anonymous:?}"
    );

    // The readiness probe (its shell pipeline, pointed at this port): ok with the password
    // in REDISCLI_AUTH as the container has it, failing without.
    let probe_script = probe[2].replace("-h 127.0.0.1", &format!("-h 127.0.0.1 -p {port}"));
    let run_probe = |auth: Option<&str>| {
        let mut cmd = Command::new(&probe[0]);
        cmd.args([&probe[1], &probe_script])
            .env_remove("REDISCLI_AUTH");
        if let Some(a) = auth {
            cmd.env("REDISCLI_AUTH", a);
        }
        cmd.status().unwrap().success()
    };
    assert!(run_probe(Some(PASSWORD)));
    assert!(!run_probe(None));

    // Crash (SIGKILL, no shutdown save) and restart on the same data directory.
    server.kill().unwrap();
    server.wait().unwrap();
    let mut server = start(&argv);
    wait_ready(port);
    let range = cli(port, Some(PASSWORD), &["XRANGE", "mutasi", "-", "+"]);
    let text = String::from_utf8_lossy(&range.stdout).into_owned();
    assert!(
        text.contains(&id) && text.contains("100.00"),
        "lost after crash: {text}"
    );
    server.kill().unwrap();
    server.wait().unwrap();
}
