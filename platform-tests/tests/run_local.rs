//! `scripts/run-local.sh`, the README's first command, as a newcomer meets it: a busy port is
//! refused before anything is built, naming the variable that moves it; each service is
//! announced only once it answers; migrations are applied once per start; Ctrl-C stops
//! everything the script started, its Redis included.
//!
//! The script runs with `BIN_DIR` (the workspace's debug binaries, so nothing is built here),
//! a private PostgreSQL, free ports and its state in a temporary `LOCAL_DIR`.

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bukubesar_testkit::{postgres, workspace_binary};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// Bound on the script's start (databases, Redis, both services) and stop.
const TIMEOUT: Duration = Duration::from_secs(120);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn answers(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// `ports`: PORT, MUTASI_PORT, REDIS_PORT, METRICS_PORT, MUTASI_METRICS_PORT.
fn script(server: &postgres::PgServer, local: &Path, ports: [u16; 5], arg: &str) -> Command {
    let bin_dir = workspace_binary("transaksi")
        .parent()
        .expect("the binaries' directory")
        .to_owned();
    let mut command = Command::new("bash");
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/run-local.sh"
        ))
        .arg(arg)
        .env("PORT", ports[0].to_string())
        .env("MUTASI_PORT", ports[1].to_string())
        .env("REDIS_PORT", ports[2].to_string())
        .env("METRICS_PORT", ports[3].to_string())
        .env("MUTASI_METRICS_PORT", ports[4].to_string())
        .env("DB_HOST", server.host())
        .env("DB_PORT", server.port().to_string())
        .env("DB_USER", server.user())
        .env("BIN_DIR", bin_dir)
        .env("LOCAL_DIR", local)
        .env_remove("DB_PASSWORD")
        .env_remove("REDIS_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, as a terminal's foreground job: Ctrl-C goes to the group.
        .process_group(0)
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn a_busy_port_is_named_with_its_variable_before_anything_starts() {
    let server = postgres::throwaway();
    let local = tempfile::tempdir().expect("a temporary directory");
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy_port = busy.local_addr().expect("address").port();
    let ports = [
        free_port(),
        busy_port,
        free_port(),
        free_port(),
        free_port(),
    ];
    let output = tokio::time::timeout(
        TIMEOUT,
        script(&server, local.path(), ports, "run").output(),
    )
    .await
    .expect("ends in time")
    .expect("runs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("port {busy_port} (mutasi) is already in use"))
            && said.contains("MUTASI_PORT=<port>"),
        "{said}"
    );
    assert!(!said.contains("Redis"), "nothing was started: {said}");
    assert!(!answers(ports[2]), "no Redis was started");
}

#[tokio::test]
async fn it_announces_what_answers_and_ctrl_c_stops_everything_it_started() {
    let server = postgres::throwaway();
    let local = tempfile::tempdir().expect("a temporary directory");
    let ports = [
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    ];
    let mut child = script(&server, local.path(), ports, "run")
        .spawn()
        .expect("run-local.sh");
    let stderr = child.stderr.take().expect("stderr");
    let mut said = BufReader::new(stderr).lines();
    let mut transcript = Vec::new();
    tokio::time::timeout(TIMEOUT, async {
        while let Some(line) = said.next_line().await.expect("stderr") {
            transcript.push(line.clone());
            for (name, port) in [("transaksi", ports[0]), ("mutasi", ports[1])] {
                if line.contains(&format!("{name} answers on http://127.0.0.1:{port}")) {
                    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
                        .await
                        .expect("it answers when announced");
                    assert_eq!(ready.status(), 200, "{name} /readyz when announced");
                }
            }
            if line.contains("Ctrl-C stops everything") {
                return;
            }
        }
        panic!("run-local.sh ended before both services answered: {transcript:#?}");
    })
    .await
    .unwrap_or_else(|_| panic!("not started in time: {transcript:#?}"));
    // /metrics: on the private ports, never on the API ports.
    for (api, metrics) in [(ports[0], ports[3]), (ports[1], ports[4])] {
        let on_api = reqwest::get(format!("http://127.0.0.1:{api}/metrics"))
            .await
            .expect("the API answers");
        assert_eq!(on_api.status(), 404, "/metrics on the API port {api}");
        let scrape = reqwest::get(format!("http://127.0.0.1:{metrics}/metrics"))
            .await
            .expect("the metrics port answers");
        assert_eq!(scrape.status(), 200, "/metrics on port {metrics}");
    }
    let status = script(&server, local.path(), ports, "status")
        .output()
        .await
        .expect("status");
    let status = String::from_utf8_lossy(&status.stdout);
    for name in ["transaksi", "mutasi", "redis"] {
        assert!(
            status.contains(&format!("{name}: port")) && status.contains("started by run-local.sh"),
            "{status}"
        );
    }

    ctrl_c(&mut child).await;
    for port in ports {
        assert!(!answers(port), "port {port} still answers after Ctrl-C");
    }
    let left: Vec<_> = std::fs::read_dir(local.path().join("run"))
        .expect("the pid directory")
        .collect();
    assert!(left.is_empty(), "pid files left: {left:?}");
    assert_migrated_once(&mut child).await;
}

/// SIGINT to the script's process group, as Ctrl-C in a terminal; it must end in time.
async fn ctrl_c(child: &mut Child) {
    let group = child.id().expect("pid");
    let sent = Command::new("kill")
        .args(["-INT", "--", &format!("-{group}")])
        .status()
        .await
        .expect("kill");
    assert!(sent.success());
    tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("stops in time")
        .expect("exit status");
}

/// Each service applied its migrations once: one `database migrations applied` line each.
async fn assert_migrated_once(child: &mut Child) {
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .await
        .expect("stdout");
    let migrated: Vec<String> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == "database migrations applied")
        .map(|line| line["db_name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(migrated, ["transaksi", "mutasi"], "{stdout}");
}
