//! The PostgreSQL init script the operator puts in a ConfigMap, run the way the postgres
//! image runs it (`/docker-entrypoint-initdb.d/*.sh`, executed with the container's env, psql
//! talking to the server), against a private throwaway PostgreSQL server (the project's test
//! harness; the script creates cluster-wide roles, so the server is not shared). Needs the
//! PostgreSQL server binaries (`apt-get install postgresql`; the test scripts install them).

use std::path::Path;
use std::process::{Command, Output};

use bukubesar_testkit::postgres;
use operator::builders::postgres::INIT_SCRIPT;

fn run(program: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
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

#[test]
fn init_script_creates_owned_databases_and_password_users() {
    let server = postgres::throwaway();
    let bin = postgres::postgres_bin_dir();
    let host = server.host();
    let port = server.port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();

    // The script exactly as the ConfigMap carries it, run as the image's entrypoint does.
    let script = root.join("10-bukubesar-databases.sh");
    std::fs::write(&script, INIT_SCRIPT).unwrap();
    let path = format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", bin.display());
    let env = [
        ("PATH", path.as_str()),
        ("PGHOST", host.as_str()),
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
    // ... and cannot even connect to the other one ...
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

    // ... until transaksi's own migrations (run as the transaksi user, who may not create
    // roles) grant mutasi's role the credential columns, and nothing else.
    ok(
        "drop scratch table",
        psql("transaksi", "transaksi", "drop table t"),
    );
    let mut migrations: Vec<_> = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../migrations/transaksi"
    ))
    .unwrap()
    .map(|entry| entry.unwrap().path())
    .collect();
    migrations.sort();
    for migration in &migrations {
        let file = migration.display().to_string();
        let out = run(
            &bin.join("psql"),
            &[
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "transaksi",
                "-d",
                "transaksi",
                "-f",
                &file,
            ],
            &env,
        );
        ok(&file, out);
    }
    ok(
        "mutasi reads the credential columns",
        psql(
            "mutasi",
            "transaksi",
            "select no_rekening, pin_hash, gagal_pin, terkunci_sampai from nasabah",
        ),
    );
    ok(
        "mutasi records a wrong PIN",
        psql(
            "mutasi",
            "transaksi",
            "update nasabah set gagal_pin = gagal_pin + 1, terkunci_sampai = null",
        ),
    );
    for forbidden in [
        "select nik from nasabah",
        "select saldo from rekening",
        "update nasabah set pin_hash = pin_hash",
        "select count(*) from jurnal",
    ] {
        let out = psql("mutasi", "transaksi", forbidden);
        assert!(
            !out.status.success()
                && String::from_utf8_lossy(&out.stderr).contains("permission denied"),
            "{forbidden}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
