//! docker-compose.yml runs what the operator deploys, so local runs and clusters cannot drift:
//! the same images, the operator's PostgreSQL init script byte for byte, the same PostgreSQL
//! environment and probe, Redis with the operator's durability flags and probe, Jaeger with
//! OTLP on, and the services given every flag the operator gives them, with the same values
//! (host names aside). platform-tests/tests/compose.rs checks the services' side (their parsers,
//! ports, environment, .env.example). No cluster needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{Container, PodSpec};
use kube::api::ObjectMeta;
use operator::builders::secrets::App;
use operator::builders::{Instance, apps, jaeger, postgres, redis};
use operator::crd::{self, LedgerDeployment, LedgerDeploymentSpec};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Service {
    image: Option<String>,
    command: Vec<String>,
    environment: BTreeMap<String, String>,
    volumes: Vec<String>,
    healthcheck: Option<Healthcheck>,
}

#[derive(Debug, Deserialize)]
struct Healthcheck {
    test: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compose() -> Compose {
    let text = std::fs::read_to_string(root().join("docker-compose.yml")).unwrap();
    serde_saphyr::from_str(&text).expect("docker-compose.yml parses")
}

fn service<'a>(compose: &'a Compose, name: &str) -> &'a Service {
    compose
        .services
        .get(name)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name:?}"))
}

/// `spec: {}` in namespace bank, as the API server hands it over.
fn ledger() -> LedgerDeployment {
    let spec: LedgerDeploymentSpec = serde_json::from_str("{}").unwrap();
    let mut ld = LedgerDeployment::new("ledger", spec);
    ld.metadata = ObjectMeta {
        name: Some("ledger".into()),
        namespace: Some("bank".into()),
        uid: Some("0b5c6a7e-1111-2222-3333-444455556666".into()),
        ..Default::default()
    };
    ld
}

fn first_container(pod: Option<PodSpec>) -> Container {
    pod.unwrap().containers.remove(0)
}

fn exec_probe(c: &Container) -> Vec<String> {
    c.readiness_probe
        .as_ref()
        .and_then(|p| p.exec.as_ref())
        .and_then(|e| e.command.clone())
        .unwrap()
}

fn env_names(c: &Container) -> Vec<String> {
    let mut names: Vec<String> = c.env.iter().flatten().map(|e| e.name.clone()).collect();
    names.sort();
    names
}

#[test]
fn images_are_the_operators_defaults() {
    let compose = compose();
    for (svc, image) in [
        ("postgres", crd::DEFAULT_POSTGRES_IMAGE),
        ("redis", crd::DEFAULT_REDIS_IMAGE),
        ("jaeger", crd::DEFAULT_JAEGER_IMAGE),
        ("transaksi", crd::DEFAULT_TRANSAKSI_IMAGE),
        ("mutasi", crd::DEFAULT_MUTASI_IMAGE),
    ] {
        assert_eq!(
            service(&compose, svc).image.as_deref(),
            Some(image),
            "{svc}"
        );
    }
}

#[test]
fn postgres_runs_the_operators_init_script_with_its_environment() {
    // The script itself is one file: the operator's INIT_SCRIPT is compose/postgres-init.sh
    // (include_str!), so only how compose runs it is checked here.
    let path = root().join("compose/postgres-init.sh");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert!(
            mode & 0o111 != 0,
            "the postgres image sources a non-executable *.sh instead of running it"
        );
    }
    let compose = compose();
    let pg = service(&compose, "postgres");
    assert!(
        pg.volumes.contains(
            &"./compose/postgres-init.sh:/docker-entrypoint-initdb.d/10-bukubesar-databases.sh:ro"
                .to_owned()
        ),
        "{:?}",
        pg.volumes
    );

    let ld = ledger();
    let inst = Instance::new(&ld).unwrap();
    let c = first_container(postgres::statefulset(&inst).spec.unwrap().template.spec);
    // The operator's PostgreSQL environment (PGDATA only moves the data below the PVC's
    // lost+found, which a named volume does not have).
    let operator_env: Vec<String> = env_names(&c)
        .into_iter()
        .filter(|n| n != "PGDATA")
        .collect();
    let compose_env: Vec<String> = pg.environment.keys().cloned().collect();
    assert_eq!(compose_env, operator_env);
    assert_eq!(pg.environment["POSTGRES_USER"], "postgres");
    let test = &pg.healthcheck.as_ref().unwrap().test;
    assert_eq!(test[0], "CMD");
    assert_eq!(
        test[1..],
        exec_probe(&c)[..],
        "pg_isready as the operator runs it"
    );
}

#[test]
fn redis_is_durable_and_password_protected_as_the_operator_runs_it() {
    let ld = ledger();
    let inst = Instance::new(&ld).unwrap();
    let c = first_container(redis::statefulset(&inst).spec.unwrap().template.spec);
    let operator_command = format!(
        "exec {} {}",
        c.command.as_ref().unwrap().join(" "),
        c.args.as_ref().unwrap().join(" ")
    );
    let compose = compose();
    let r = service(&compose, "redis");
    assert_eq!(r.command[..2], ["sh", "-c"]);
    // The operator's $(REDIS_PASSWORD) is Kubernetes' expansion; compose's shell expands it.
    assert_eq!(
        r.command[2],
        operator_command.replace("$(REDIS_PASSWORD)", "\"$$REDIS_PASSWORD\"")
    );
    assert!(r.command[2].contains("--appendonly yes --appendfsync always"));
    assert_eq!(
        r.environment.keys().cloned().collect::<Vec<_>>(),
        env_names(&c)
    );
    assert!(r.volumes.contains(&"redisdata:/data".to_owned()));
    let test = &r.healthcheck.as_ref().unwrap().test;
    assert_eq!(test[0], "CMD-SHELL");
    assert_eq!(
        ["sh".to_owned(), "-c".to_owned(), test[1].clone()][..],
        exec_probe(&c)[..]
    );
}

#[test]
fn jaeger_collects_otlp() {
    let ld = ledger();
    let inst = Instance::new(&ld).unwrap();
    let c = first_container(jaeger::deployment(&inst).spec.unwrap().template.spec);
    let compose = compose();
    let j = service(&compose, "jaeger");
    for e in c.env.iter().flatten() {
        assert_eq!(
            j.environment.get(&e.name),
            e.value.as_ref(),
            "jaeger: {}",
            e.name
        );
    }
}

/// `--flag value` pairs of a command line.
fn flags(args: &[String]) -> BTreeMap<String, String> {
    args.chunks(2)
        .map(|pair| {
            assert!(pair[0].starts_with("--"), "not a --flag: {pair:?}");
            (pair[0].clone(), pair.get(1).cloned().unwrap_or_default())
        })
        .collect()
}

#[test]
fn services_get_every_flag_the_operator_gives_them() {
    let ld = ledger();
    let inst = Instance::new(&ld).unwrap();
    let compose = compose();
    // In the cluster the data stores are <instance>-postgres/-redis; in compose, the services.
    let host = |value: &str| match value {
        "ledger-postgres" => "postgres".to_owned(),
        "ledger-redis" => "redis".to_owned(),
        other => other.to_owned(),
    };
    for (name, app) in [("transaksi", App::Transaksi), ("mutasi", App::Mutasi)] {
        let ours = flags(&service(&compose, name).command);
        for (flag, value) in flags(&apps::args(&inst, app)) {
            let Some(got) = ours.get(&flag) else {
                panic!("{name}: the operator passes {flag} {value}, docker-compose.yml does not");
            };
            if flag == "--consumer" {
                // the operator's pod name; compose's fixed name (see docker-compose.yml)
                assert!(!got.is_empty());
            } else {
                assert_eq!(*got, host(&value), "{name}: {flag}");
            }
        }
    }
}
