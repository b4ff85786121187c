//! docker-compose.yml against the binaries, so the two cannot drift apart: each service's
//! `command` goes through the binary's real clap parser (a renamed or removed flag fails here),
//! the ports it publishes and probes are the `--port` it is given, every environment variable
//! it is handed is one the binary reads (its `config::ENVIRONMENT` list or a flag's clap `env`),
//! the hosts in its flags are services of the file, its credentials are the ones PostgreSQL and
//! Redis are started with, and `.env.example` provides every `${VAR}` the file uses. Also the
//! Dockerfile the file builds: the stage of each binary, the port and probe it bakes in, and a
//! build context that holds every workspace member.
//! (operator/tests/compose.rs checks the other half: images, init script and Redis flags
//! against the operator.) mutasi's tests see both command lines: transaksi is a dev-dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Compose {
    services: BTreeMap<String, Service>,
    #[serde(default)]
    volumes: BTreeMap<String, serde::de::IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Service {
    image: Option<String>,
    build: Option<Build>,
    pull_policy: Option<String>,
    command: Vec<String>,
    environment: BTreeMap<String, String>,
    ports: Vec<String>,
    volumes: Vec<String>,
    depends_on: BTreeMap<String, DependsOn>,
    healthcheck: Option<Healthcheck>,
}

#[derive(Debug, Deserialize)]
struct Build {
    context: String,
    dockerfile: String,
    target: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DependsOn {
    condition: String,
}

#[derive(Debug, Deserialize)]
struct Healthcheck {
    test: Vec<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compose() -> Compose {
    serde_saphyr::from_str(&read("docker-compose.yml")).expect("docker-compose.yml parses")
}

fn service<'a>(compose: &'a Compose, name: &str) -> &'a Service {
    compose
        .services
        .get(name)
        .unwrap_or_else(|| panic!("docker-compose.yml has no service {name:?}"))
}

/// `.env.example` as KEY -> value (comments and blank lines skipped).
fn env_example() -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in read(".env.example").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!(".env.example: not KEY=VALUE: {line:?}"));
        assert!(
            !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            ".env.example: bad name {key:?}"
        );
        assert!(
            !value.is_empty() && !value.contains(['"', '\'', ' ', '$']),
            ".env.example: {key} needs a plain value"
        );
        assert!(
            vars.insert(key.to_owned(), value.to_owned()).is_none(),
            ".env.example: {key} twice"
        );
    }
    vars
}

/// One `${...}` reference: the variable and what follows its name (`:?msg`, `:-default`, ...).
fn references(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix('$') {
            rest = escaped; // `$$` is a literal `$`
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').expect("unclosed ${ in docker-compose.yml");
            let body = &inner[..end];
            let name_end = body
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(body.len());
            found.push((body[..name_end].to_owned(), body[name_end..].to_owned()));
            rest = &inner[end + 1..];
        } else {
            assert!(
                !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'),
                "docker-compose.yml: write ${{VAR}} (or $$ for a literal $): {}",
                &rest[i..(i + 20).min(rest.len())]
            );
            rest = after;
        }
    }
    found
}

/// A value as compose resolves it with `.env.example` copied to `.env`.
fn resolve(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(escaped) = after.strip_prefix('$') {
            out.push('$');
            rest = escaped;
            continue;
        }
        let inner = after.strip_prefix('{').expect("${VAR} form");
        let end = inner.find('}').expect("closed ${");
        let (name, modifier) = references(&rest[i..i + 2 + end + 1])
            .pop()
            .expect("one reference");
        match (vars.get(&name), modifier.strip_prefix(":-")) {
            (Some(v), _) => out.push_str(v),
            (None, Some(default)) => out.push_str(default),
            (None, None) => panic!("${{{name}}} is not in .env.example"),
        }
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `[ip:]published:container[/tcp]` -> (published, container).
fn port_mapping(mapping: &str) -> (u16, u16) {
    let mapping = mapping.strip_suffix("/tcp").unwrap_or(mapping);
    let parts: Vec<&str> = mapping.rsplitn(3, ':').collect();
    let [container, published, ..] = parts.as_slice() else {
        panic!("port mapping without a published port: {mapping:?}");
    };
    (
        published.parse().expect("published port"),
        container.parse().expect("container port"),
    )
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// `http://host:port/...` -> (host, port).
fn url_host_port(url: &str) -> (String, u16) {
    let rest = url.strip_prefix("http://").expect("http:// URL");
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = authority.rsplit_once(':').expect("URL with a port");
    (host.to_owned(), port.parse().expect("port"))
}

/// Every environment variable `cli` reads: the binary's own list plus the flags clap may take
/// from the environment.
fn variables_read(cli: clap::Command, own: &[&str]) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = own.iter().map(|s| (*s).to_owned()).collect();
    names.extend(
        cli.get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned()),
    );
    names
}

/// What both services share in the file: port wiring, hosts, environment, health check.
struct Checked {
    port: u16,
    db_host: String,
    redis_host: String,
    stream: String,
}

fn check_service(
    compose: &Compose,
    name: &str,
    expected_port: u16,
    parsed: Checked,
    cli: clap::Command,
    own_env: &[&str],
) {
    let svc = service(compose, name);
    assert_eq!(parsed.port, expected_port, "{name}: --port");
    assert_eq!(
        svc.ports
            .iter()
            .map(|p| port_mapping(p))
            .collect::<Vec<_>>(),
        [(expected_port, parsed.port)],
        "{name}: published port = container port = --port"
    );
    for (what, host) in [
        ("--db-host", &parsed.db_host),
        ("--redis-host", &parsed.redis_host),
    ] {
        assert!(
            compose.services.contains_key(host.as_str()),
            "{name}: {what} {host} is not a service of docker-compose.yml"
        );
    }
    assert_eq!(parsed.db_host, "postgres", "{name}");
    assert_eq!(parsed.redis_host, "redis", "{name}");
    assert_eq!(parsed.stream, "mutasi", "{name}: --stream");
    let otlp = flag(&svc.command, "--otlp-endpoint")
        .unwrap_or_else(|| panic!("{name}: no --otlp-endpoint"));
    let (otlp_host, otlp_port) = url_host_port(otlp);
    assert!(
        compose.services.contains_key(otlp_host.as_str()),
        "{name}: --otlp-endpoint host {otlp_host} is not a service"
    );
    assert_eq!((otlp_host.as_str(), otlp_port), ("jaeger", 4317), "{name}");

    let reads = variables_read(cli, own_env);
    for key in svc.environment.keys() {
        assert!(
            reads.contains(key),
            "{name}: docker-compose.yml sets {key}, which {name} does not read (it reads {reads:?})"
        );
    }
    for secret in own_env {
        assert!(
            svc.environment.contains_key(*secret),
            "{name}: docker-compose.yml must give it {secret}"
        );
    }

    let probe = svc
        .healthcheck
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no healthcheck"));
    let url = format!("http://127.0.0.1:{}/readyz", parsed.port);
    assert_eq!(
        probe.test,
        ["CMD", "/usr/local/bin/bukubesar-healthcheck", url.as_str()],
        "{name}: healthcheck"
    );

    // The image compose builds for it: its Dockerfile runs this binary, exposes and probes
    // this port, and installs the probe the health check calls.
    let build = svc
        .build
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no build"));
    assert_eq!(
        build.context, ".",
        "{name}: the workspace is the build context"
    );
    assert_eq!(
        build.dockerfile, "Dockerfile",
        "{name}: one Dockerfile for the workspace"
    );
    assert_eq!(
        build.target.as_deref(),
        Some(name),
        "{name}: its own runtime stage"
    );
    let dockerfile = read(&build.dockerfile);
    let runtime = stage(&dockerfile, name);
    for needed in [
        format!("ENTRYPOINT [\"/usr/local/bin/{name}\"]"),
        format!("COPY --from=build /out/{name} /out/bukubesar-healthcheck /usr/local/bin/"),
        format!("EXPOSE {}", parsed.port),
        format!("\"{url}\"]"),
        "USER 65532:65532".to_owned(),
    ] {
        assert!(
            runtime.contains(&needed),
            "Dockerfile, stage {name}: expected {needed:?}"
        );
    }
    let build_stage = stage(&dockerfile, "build");
    for binary in [name, "bukubesar-healthcheck"] {
        assert!(
            build_stage.contains(&format!("target/release/{binary}")),
            "Dockerfile, stage build: does not install target/release/{binary}"
        );
    }
    assert!(
        root()
            .join("common/src/bin/bukubesar-healthcheck.rs")
            .exists()
    );
    assert_eq!(
        svc.image.as_deref(),
        Some(format!("bukubesar/{name}:0.1.0").as_str())
    );
    assert_eq!(
        svc.pull_policy.as_deref(),
        Some("build"),
        "{name}: built from these sources, never pulled under the same name"
    );
}

/// The lines of the Dockerfile stage `FROM ... AS name`, up to the next `FROM`.
fn stage(dockerfile: &str, name: &str) -> String {
    let header = format!(" AS {name}");
    let mut lines = dockerfile
        .lines()
        .skip_while(|l| !(l.starts_with("FROM ") && l.ends_with(&header)));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("Dockerfile has no stage {name}"));
    std::iter::once(first)
        .chain(lines.take_while(|l| !l.starts_with("FROM ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn argv(name: &str, svc: &Service) -> Vec<String> {
    std::iter::once(name.to_owned())
        .chain(svc.command.iter().cloned())
        .collect()
}

#[test]
fn transaksi_command_is_what_transaksi_accepts() {
    let compose = compose();
    let svc = service(&compose, "transaksi");
    let cli = <transaksi::config::Cli as clap::Parser>::try_parse_from(argv("transaksi", svc))
        .unwrap_or_else(|e| {
            panic!("docker-compose.yml's transaksi command is refused by transaksi:\n{e}")
        });
    assert!(cli.command.is_none(), "serves (no subcommand)");
    let s = &cli.settings;
    assert_eq!(s.db_name, "transaksi");
    assert_eq!(
        s.metrics_addr.to_string(),
        "0.0.0.0:9180",
        "/metrics on its own port in the compose network (never published: one port mapping)"
    );
    check_service(
        &compose,
        "transaksi",
        8080,
        Checked {
            port: s.port,
            db_host: s.db.host.clone(),
            redis_host: s.redis.host.clone(),
            stream: s.redis.stream.clone(),
        },
        transaksi::config::Cli::command(),
        transaksi::config::ENVIRONMENT,
    );
}

#[test]
fn mutasi_command_is_what_mutasi_accepts() {
    let compose = compose();
    let svc = service(&compose, "mutasi");
    let cli = <mutasi::config::Cli as clap::Parser>::try_parse_from(argv("mutasi", svc))
        .unwrap_or_else(|e| {
            panic!("docker-compose.yml's mutasi command is refused by mutasi:\n{e}")
        });
    assert!(cli.command.is_none(), "serves (no subcommand)");
    let s = &cli.settings;
    assert_eq!(s.db_name, "mutasi");
    assert_eq!(
        s.metrics_addr.to_string(),
        "0.0.0.0:9181",
        "/metrics on its own port in the compose network (never published: one port mapping)"
    );
    // The credential table is transaksi's database, on the same server.
    let transaksi = service(&compose, "transaksi");
    assert_eq!(
        Some(s.auth_db_name.as_str()),
        flag(&transaksi.command, "--db-name")
    );
    assert!(
        s.consumer.as_deref().is_some_and(|c| !c.is_empty()),
        "a fixed --consumer, so a recreated container resumes its pending entries"
    );
    check_service(
        &compose,
        "mutasi",
        8081,
        Checked {
            port: s.port,
            db_host: s.db.host.clone(),
            redis_host: s.redis.host.clone(),
            stream: s.redis.stream.clone(),
        },
        mutasi::config::Cli::command(),
        mutasi::config::ENVIRONMENT,
    );
}

#[test]
fn help_documents_every_environment_variable() {
    for (name, mut cli, own) in [
        (
            "transaksi",
            transaksi::config::Cli::command(),
            transaksi::config::ENVIRONMENT,
        ),
        (
            "mutasi",
            mutasi::config::Cli::command(),
            mutasi::config::ENVIRONMENT,
        ),
    ] {
        let help = cli.render_long_help().to_string();
        for var in own {
            assert!(help.contains(var), "{name} --help does not mention {var}");
        }
    }
}

#[test]
fn env_example_provides_exactly_the_variables_the_file_uses() {
    let text = read("docker-compose.yml");
    let vars = env_example();
    let used: BTreeSet<String> = references(&text).into_iter().map(|(v, _)| v).collect();
    let provided: BTreeSet<String> = vars.keys().cloned().collect();
    assert_eq!(
        used, provided,
        "docker-compose.yml's ${{VARS}} vs .env.example"
    );
    for (var, modifier) in references(&text) {
        assert!(
            modifier.starts_with(":?"),
            "${{{var}{modifier}}}: secrets have no default in the file; use ${{{var}:?...}}"
        );
    }
    assert!(
        read(".gitignore").lines().any(|l| l.trim() == ".env"),
        ".env must stay out of git"
    );
    assert!(
        read(".dockerignore").lines().any(|l| l.trim() == ".env"),
        ".env must stay out of the build context"
    );
}

#[test]
fn services_use_the_credentials_postgres_and_redis_are_started_with() {
    let compose = compose();
    let vars = env_example();
    let env = |svc: &str, key: &str| {
        let value = service(&compose, svc)
            .environment
            .get(key)
            .unwrap_or_else(|| panic!("{svc}: no {key}"));
        resolve(value, &vars)
    };
    // compose/postgres-init.sh creates these users with these passwords.
    assert_eq!(
        env("transaksi", "DB_USER"),
        env("postgres", "TRANSAKSI_DB_USER")
    );
    assert_eq!(
        env("transaksi", "DB_PASSWORD"),
        env("postgres", "TRANSAKSI_DB_PASSWORD")
    );
    assert_eq!(env("mutasi", "DB_USER"), env("postgres", "MUTASI_DB_USER"));
    assert_eq!(
        env("mutasi", "DB_PASSWORD"),
        env("postgres", "MUTASI_DB_PASSWORD")
    );
    assert_ne!(env("transaksi", "DB_USER"), env("mutasi", "DB_USER"));
    // Redis's requirepass.
    let redis = service(&compose, "redis");
    assert!(
        redis
            .command
            .iter()
            .any(|a| a.contains("--requirepass \"$$REDIS_PASSWORD\"")),
        "redis: requirepass from its REDIS_PASSWORD"
    );
    for svc in ["transaksi", "mutasi"] {
        assert_eq!(env(svc, "REDIS_PASSWORD"), env("redis", "REDIS_PASSWORD"));
    }
    assert_eq!(
        env("redis", "REDISCLI_AUTH"),
        env("redis", "REDIS_PASSWORD")
    );
}

#[test]
fn start_order_waits_for_health() {
    let compose = compose();
    let expect = |svc: &str, needs: &[(&str, &str)]| {
        let deps = &service(&compose, svc).depends_on;
        let got: Vec<(&str, &str)> = deps
            .iter()
            .map(|(k, v)| (k.as_str(), v.condition.as_str()))
            .collect();
        let mut want = needs.to_vec();
        want.sort();
        assert_eq!(got, want, "{svc}: depends_on");
        for (dep, condition) in needs {
            if *condition == "service_healthy" {
                assert!(
                    service(&compose, dep).healthcheck.is_some(),
                    "{svc} waits for {dep} to be healthy, which has no healthcheck"
                );
            }
        }
    };
    expect(
        "transaksi",
        &[
            ("postgres", "service_healthy"),
            ("redis", "service_healthy"),
            ("jaeger", "service_started"),
        ],
    );
    // transaksi's migrations grant bukubesar_autentikasi what mutasi authenticates with.
    expect(
        "mutasi",
        &[
            ("postgres", "service_healthy"),
            ("redis", "service_healthy"),
            ("transaksi", "service_healthy"),
            ("jaeger", "service_started"),
        ],
    );
    for svc in compose.services.keys() {
        assert!(
            service(&compose, svc).healthcheck.is_some(),
            "{svc}: no healthcheck"
        );
    }
}

#[test]
fn data_lives_in_named_volumes() {
    let compose = compose();
    let names: BTreeSet<&str> = compose.volumes.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["pgdata", "redisdata"]));
    let mounts = |svc: &str| service(&compose, svc).volumes.clone();
    assert!(mounts("postgres").contains(&"pgdata:/var/lib/postgresql/data".to_owned()));
    assert!(mounts("redis").contains(&"redisdata:/data".to_owned()));
    assert_eq!(
        service(&compose, "jaeger").ports,
        ["127.0.0.1:16686:16686"],
        "Jaeger UI on 16686"
    );
    for svc in ["postgres", "redis"] {
        assert!(
            service(&compose, svc).ports.is_empty(),
            "{svc} is not published"
        );
    }
}

/// The Dockerfile copies the whole workspace behind .dockerignore (so that a member added later
/// is built without editing it): no member, manifest, lock file or migration may be excluded.
#[test]
fn build_context_holds_every_workspace_member() {
    let manifest = read("Cargo.toml");
    let members_line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("Cargo.toml lists the workspace members on one line");
    let members: Vec<&str> = members_line.split('"').skip(1).step_by(2).collect();
    assert!(members.len() >= 4, "workspace members: {members:?}");
    let excluded: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_owned())
        .collect();
    let dockerfile = read("Dockerfile");
    assert!(
        stage(&dockerfile, "planner").contains("COPY . .")
            && stage(&dockerfile, "build").contains("COPY . ."),
        "the planner and build stages copy the whole context"
    );
    let needed =
        members
            .iter()
            .copied()
            .chain(["Cargo.toml", "Cargo.lock", "migrations", "compose"]);
    for path in needed {
        for pattern in &excluded {
            let pattern = pattern.trim_start_matches("**/");
            let hit = path
                .split('/')
                .scan(String::new(), |prefix, part| {
                    if !prefix.is_empty() {
                        prefix.push('/');
                    }
                    prefix.push_str(part);
                    Some(prefix.clone())
                })
                .any(|prefix| glob(pattern, &prefix));
            assert!(
                !hit,
                ".dockerignore entry {pattern:?} keeps {path} out of the build"
            );
        }
    }
}

/// Only the root Dockerfile builds the workspace. The air-gapped base images (airgap/*/Dockerfile)
/// are built from contexts that hold no workspace member, so none of their instructions may run
/// cargo: it would have no workspace to load.
#[test]
fn airgap_images_run_no_cargo() {
    let airgap = root().join("airgap");
    let mut checked = 0;
    for entry in std::fs::read_dir(&airgap).expect("airgap/") {
        let dockerfile = entry.expect("airgap/ entry").path().join("Dockerfile");
        let Ok(text) = std::fs::read_to_string(&dockerfile) else {
            continue;
        };
        checked += 1;
        // Instructions with their continuation lines joined; comments dropped.
        let instructions = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("\\\n", " ");
        for run in instructions
            .lines()
            .filter(|l| l.trim_start().starts_with("RUN"))
        {
            let runs_cargo = run
                .split(|c: char| c.is_whitespace() || ";&|()".contains(c))
                .any(|word| word == "cargo");
            assert!(!runs_cargo, "{}: runs cargo: {run}", dockerfile.display());
        }
    }
    assert!(checked >= 4, "air-gapped Dockerfiles found: {checked}");
}

/// `*` matches any run of characters but `/`; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .take_while(|&i| !rest[..i].contains('/'))
                .any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
        }
    }
}

#[test]
fn reference_scanner_and_resolver() {
    let refs = references("a ${X:?m} $$Y ${Z:-d} ${W}");
    assert_eq!(
        refs,
        [
            ("X".to_owned(), ":?m".to_owned()),
            ("Z".to_owned(), ":-d".to_owned()),
            ("W".to_owned(), String::new())
        ]
    );
    let vars = BTreeMap::from([
        ("X".to_owned(), "1".to_owned()),
        ("W".to_owned(), "2".to_owned()),
    ]);
    assert_eq!(resolve("a ${X:?m} $$Y ${Z:-d} ${W}", &vars), "a 1 $Y d 2");
    assert_eq!(port_mapping("127.0.0.1:8080:8081/tcp"), (8080, 8081));
    assert_eq!(port_mapping("8080:8081"), (8080, 8081));
}
