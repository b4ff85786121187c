//! The operator's health port is one number everywhere: `--health-addr`'s default, the Helm
//! chart's `healthPort`, and the Dockerfile's operator stage (`EXPOSE`, `HEALTHCHECK`). It is
//! neither transaksi's 8080 nor mutasi's 8081, so all three run side by side on one machine.

use std::net::SocketAddr;

use operator::http::{DEFAULT_HEALTH_ADDR, DEFAULT_HEALTH_PORT};

fn read(path: &str) -> String {
    let path = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_default_is_clear_of_the_services() {
    let addr: SocketAddr = DEFAULT_HEALTH_ADDR.parse().expect("an address");
    assert_eq!(addr.port(), DEFAULT_HEALTH_PORT);
    assert!(
        addr.ip().is_unspecified(),
        "listens on every interface in a pod"
    );
    assert!(![8080, 8081].contains(&DEFAULT_HEALTH_PORT));
}

#[test]
fn the_chart_uses_the_default_port() {
    let values = read("helm/bukubesar-operator/values.yaml");
    let port = values
        .lines()
        .find_map(|line| line.strip_prefix("healthPort:"))
        .expect("healthPort in values.yaml");
    assert_eq!(port.trim(), DEFAULT_HEALTH_PORT.to_string());
}

#[test]
fn the_image_exposes_and_probes_the_default_port() {
    let dockerfile = read("Dockerfile");
    let stage: Vec<&str> = dockerfile
        .lines()
        .skip_while(|line| !line.starts_with("FROM") || !line.ends_with(" AS operator"))
        .skip(1)
        .take_while(|line| !line.starts_with("FROM"))
        .collect();
    assert!(!stage.is_empty(), "the Dockerfile has a stage `operator`");
    let stage = stage.join("\n");
    assert!(
        stage.contains(&format!("EXPOSE {DEFAULT_HEALTH_PORT}\n")),
        "{stage}"
    );
    assert!(
        stage.contains(&format!("http://127.0.0.1:{DEFAULT_HEALTH_PORT}/healthz")),
        "{stage}"
    );
}
