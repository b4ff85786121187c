//! The PostgreSQL init script the operator puts in a ConfigMap, run the way the postgres
//! image runs it (`/docker-entrypoint-initdb.d/*.sh`, executed with the container's env, psql
//! over the local socket), against a throwaway PostgreSQL server. Needs the PostgreSQL server
//! binaries (`apt-get install postgresql`; scripts/test-operator.sh installs them); fails
//! without them. As root the server runs as the `postgres` user (initdb refuses root).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use operator::builders::postgres::INIT_SCRIPT;

fn pg_bin() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs.pop().expect(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: \
         apt-get install postgresql (scripts/test-operator.sh does)",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `program args` (as `postgres` when we are root) with `env`.
fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = if is_root() {
        // absolute: the child's PATH (set below) decides where a bare name is looked up
        let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("runuser not found (util-linux)");
        let mut c = Command::new(runuser);
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Server {
    pg_ctl: PathBuf,
    data: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = run(
            &self.pg_ctl,
            &["-D", &self.data, "-m", "immediate", "stop"],
            &[],
        );
    }
}

#[test]
fn init_script_creates_owned_databases_and_password_users() {
    let bin = pg_bin();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // the postgres user must be able to write there
    Command::new("chmod")
        .arg("0777")
        .arg(root)
        .status()
        .unwrap();
    let data = root.join("data").display().to_string();
    let socket = root.display().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    ok(
        "initdb",
        run(
            &bin.join("initdb"),
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            &[],
        ),
    );
    let server_opts = format!("-k {socket} -p {port} -c listen_addresses=''");
    let log = root.join("server.log").display().to_string();
    ok(
        "pg_ctl start",
        run(
            &bin.join("pg_ctl"),
            &["-D", &data, "-l", &log, "-o", &server_opts, "-w", "start"],
            &[],
        ),
    );
    let _server = Server {
        pg_ctl: bin.join("pg_ctl"),
        data,
    };

    // The script exactly as the ConfigMap carries it, run as the image's entrypoint does.
    let script = root.join("10-bukubesar-databases.sh");
    std::fs::write(&script, INIT_SCRIPT).unwrap();
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display());
    let env = [
        ("PATH", path.as_str()),
        ("PGHOST", socket.as_str()),
        ("PGPORT", port.as_str()),
        ("POSTGRES_USER", "postgres"),
        ("TRANSAKSI_DB_USER", "transaksi"),
        ("TRANSAKSI_DB_PASSWORD", "it's-a \"secret\" $HOME"),
        ("MUTASI_DB_USER", "mutasi"),
        ("MUTASI_DB_PASSWORD", "Zm9vYmFy0123456789abcdefghijklmn"),
    ];
    let sh = Path::new("/bin/sh");
    ok(
        "init script",
        run(sh, &[&script.display().to_string()], &env),
    );

    let psql = |user: &str, db: &str, sql: &str| {
        run(
            &bin.join("psql"),
            &[
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                user,
                "-d",
                db,
                "-c",
                sql,
            ],
            &env,
        )
    };
    let owners = ok(
        "owners",
        psql(
            "postgres",
            "postgres",
            "select datname || '=' || pg_get_userbyid(datdba) from pg_database \
             where datname in ('transaksi','mutasi') order by 1",
        ),
    );
    assert_eq!(owners.trim(), "mutasi=mutasi\ntransaksi=transaksi");
    // Passwords are stored (SCRAM) for both login roles, and neither role is a superuser.
    let roles = ok(
        "roles",
        psql(
            "postgres",
            "postgres",
            "select rolname || ':' || rolcanlogin || ':' || rolsuper || ':' || \
             (rolpassword like 'SCRAM-SHA-256$%') from pg_authid \
             where rolname in ('transaksi','mutasi') order by 1",
        ),
    );
    assert_eq!(
        roles.trim(),
        "mutasi:true:false:true\ntransaksi:true:false:true"
    );
    // Each service can create its tables in its own database (what its migrations do) ...
    ok(
        "transaksi creates a table",
        psql("transaksi", "transaksi", "create table t (id int)"),
    );
    ok(
        "mutasi creates a table",
        psql("mutasi", "mutasi", "create table m (id int)"),
    );
    // ... and cannot even connect to the other one.
    let denied = psql("mutasi", "transaksi", "select 1");
    assert!(
        !denied.status.success(),
        "mutasi connected to the transaksi database"
    );
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("permission denied"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
}
