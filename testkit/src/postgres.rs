//! The PostgreSQL server the integration tests use.
//!
//! * `TEST_DATABASE_URL` set (e.g. `postgres://postgres@127.0.0.1:5432/postgres`): that server;
//!   each test creates its own database on it.
//! * Otherwise a throwaway server for this test process: `initdb` into a temporary directory
//!   and `postgres` on a free port, run as the `postgres` OS user when the tests run as root
//!   (initdb refuses root). A watchdog shell stops it and removes the directory when this
//!   process exits, however it exits (even kill -9).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long the throwaway server may take to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct PgServer {
    host: String,
    port: u16,
    user: String,
    /// `TEST_DATABASE_URL` when it names the server (it may carry a password or TLS settings).
    #[cfg(feature = "sqlx")]
    url: Option<String>,
    /// Set for a throwaway server this process controls (it can be crashed and restarted).
    control: Option<Control>,
}

/// How to run `pg_ctl` on a throwaway server.
struct Control {
    bin: PathBuf,
    data: PathBuf,
    /// `postgres` options (port, socket directory, settings).
    options: String,
    log: PathBuf,
    as_root: bool,
}

impl Control {
    fn pg_ctl(&self) -> Command {
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.arg("-D").arg(&self.data);
        command
    }
}

impl PgServer {
    pub fn host(&self) -> String {
        self.host.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> String {
        self.user.clone()
    }

    /// A crash: `pg_ctl stop -m immediate` (no checkpoint; the next start runs crash recovery).
    /// Only for a [`throwaway`] server.
    pub fn crash(&self) {
        let control = self
            .control
            .as_ref()
            .expect("only a throwaway server can be crashed");
        let status = control
            .pg_ctl()
            .args(["stop", "-m", "immediate", "-w"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pg_ctl runs");
        assert!(status.success(), "pg_ctl stop -m immediate");
    }

    /// Starts a [`throwaway`] server again (after [`PgServer::crash`]) and waits until it
    /// accepts connections (crash recovery done).
    pub fn start(&self) {
        self.control
            .as_ref()
            .expect("only a throwaway server can be started")
            .start();
    }
}

/// Connecting with sqlx: feature `sqlx` (the services' tests; the operator's tests run the
/// server's own binaries only, so its test build has no database driver).
#[cfg(feature = "sqlx")]
mod connect {
    use std::str::FromStr;
    use std::sync::OnceLock;

    use sqlx::postgres::PgConnectOptions;
    use sqlx::{Connection, PgConnection};

    use super::{PgServer, throwaway};

    impl PgServer {
        /// Connection options for `database` on this server.
        pub fn options(&self, database: &str) -> PgConnectOptions {
            let base = match &self.url {
                Some(url) => {
                    PgConnectOptions::from_str(url).expect("TEST_DATABASE_URL is a postgres URL")
                }
                None => PgConnectOptions::new()
                    .host(&self.host)
                    .port(self.port)
                    .username(&self.user),
            };
            base.database(database)
        }

        /// Creates an empty database named `<prefix>_<random>` and returns its name.
        pub async fn create_database(&self, prefix: &str) -> String {
            let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
            let mut admin = PgConnection::connect_with(&self.options("postgres"))
                .await
                .expect("connect to the test PostgreSQL server");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create the test database");
            admin.close().await.ok();
            name
        }
    }

    static SERVER: OnceLock<PgServer> = OnceLock::new();

    /// The server shared by a test process: `TEST_DATABASE_URL`'s, else one [`throwaway`].
    pub fn server() -> &'static PgServer {
        SERVER.get_or_init(|| match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let options =
                    PgConnectOptions::from_str(&url).expect("TEST_DATABASE_URL is a postgres URL");
                PgServer {
                    host: options.get_host().to_owned(),
                    port: options.get_port(),
                    user: options.get_username().to_owned(),
                    url: Some(url),
                    control: None,
                }
            }
            _ => throwaway(),
        })
    }
}

#[cfg(feature = "sqlx")]
pub use connect::server;

/// A new private server, never shared and never `TEST_DATABASE_URL`'s: for tests that change
/// cluster-wide state (roles, databases with fixed names). Stopped when this process exits.
pub fn throwaway() -> PgServer {
    throwaway_with(Durability::Fast)
}

/// What a throwaway server keeps when it crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `fsync`, `synchronous_commit` and `full_page_writes` off: fast, and a crash
    /// ([`PgServer::crash`]) may lose transactions that were reported committed.
    Fast,
    /// PostgreSQL's defaults: a transaction reported committed survives a crash. For tests
    /// that crash the server.
    Durable,
}

/// A new private server (see [`throwaway`]) with the given durability.
pub fn throwaway_with(durability: Durability) -> PgServer {
    let bin = postgres_bin_dir();
    let as_root = nix_is_root();
    let dir = tempfile::Builder::new()
        .prefix("bukubesar-pg-")
        .tempdir()
        .expect("temporary directory")
        .keep();
    let data = dir.join("data");
    initdb(&bin, &dir, &data, as_root);
    let port = crate::free_port();
    let control = Control {
        bin: bin.clone(),
        options: format!(
            "-p {port} -k {dir} -c listen_addresses=127.0.0.1 {durability} \
             -c max_connections=400 -c shared_buffers=64MB",
            dir = dir.display(),
            durability = match durability {
                Durability::Fast => {
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                }
                Durability::Durable =>
                    "-c fsync=on -c synchronous_commit=on -c full_page_writes=on",
            }
        ),
        log: dir.join("postgres.log"),
        data,
        as_root,
    };
    control.start();
    control.stop_when_this_process_ends(&dir);
    wait_until_ready(&bin, port, &dir);
    PgServer {
        host: "127.0.0.1".to_owned(),
        port,
        user: "postgres".to_owned(),
        #[cfg(feature = "sqlx")]
        url: None,
        control: Some(control),
    }
}

/// `initdb` into `data` (trust authentication, superuser `postgres`), as the `postgres` OS
/// user when the tests run as root (initdb refuses root).
fn initdb(bin: &Path, dir: &Path, data: &Path, as_root: bool) {
    if as_root {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown of the test PostgreSQL directory");
    }
    let program = bin.join("initdb");
    let mut command = if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    let output = command
        .arg("-D")
        .arg(data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        ])
        .output()
        .expect("initdb runs (install the postgresql package)");
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until the server on `port` accepts connections (`pg_isready`).
fn wait_until_ready(bin: &Path, port: u16, dir: &Path) {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "postgres",
                "-q",
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "throwaway PostgreSQL did not start; see {}/postgres.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Control {
    /// The watchdog: polls the test process, then stops the server (fast shutdown, whatever
    /// state a test left it in) and removes `dir` once the test process is gone.
    fn stop_when_this_process_ends(&self, dir: &Path) {
        let pg_ctl = if self.as_root {
            format!(
                "runuser -u postgres -- {}",
                self.bin.join("pg_ctl").display()
            )
        } else {
            self.bin.join("pg_ctl").display().to_string()
        };
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done
             {pg_ctl} -D '{data}' -m fast -w stop >/dev/null 2>&1
             rm -rf '{dir}'",
            data = self.data.display(),
            dir = dir.display(),
            parent = std::process::id(),
        );
        crate::spawn_watchdog(script, "PostgreSQL");
    }

    /// `pg_ctl start -w`: returns once the server accepts connections.
    fn start(&self) {
        let status = self
            .pg_ctl()
            .arg("start")
            .arg("-w")
            .arg("-t")
            .arg(STARTUP_TIMEOUT.as_secs().to_string())
            .arg("-l")
            .arg(&self.log)
            .arg("-o")
            .arg(&self.options)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pg_ctl runs (install the postgresql package)");
        assert!(
            status.success(),
            "PostgreSQL did not start; see {}",
            self.log.display()
        );
    }
}

/// The directory with `initdb`, `postgres` and `pg_isready`: `PG_BIN` if set, else the
/// newest `/usr/lib/postgresql/<version>/bin`, else whatever is on `PATH`.
pub fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let output = Command::new("sh")
        .args(["-c", "dirname \"$(command -v initdb)\""])
        .output()
        .expect("sh runs");
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        !dir.is_empty() && dir != ".",
        "no initdb found: install postgresql or set PG_BIN"
    );
    PathBuf::from(dir)
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
