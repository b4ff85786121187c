//! Throwaway Redis servers for tests: `redis-server` on a free port with its own directory,
//! run the way production runs it (AOF on, `appendfsync always`), so a test can stop, kill
//! and restart it and expect every acknowledged write to survive.
//!
//! [`shared()`] is one server per test process (tests keep apart by stream name);
//! [`RedisServer::start()`] is a private one for tests that stop or kill it. A watchdog shell
//! kills every server and removes its directory when the test process exits, however it
//! exits. `REDIS_SERVER_BIN` overrides the binary (default: `redis-server` on `PATH`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::free_port;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    password: Option<String>,
    child: Mutex<Option<Child>>,
}

static SHARED: OnceLock<RedisServer> = OnceLock::new();

/// One server for the whole test process.
pub fn shared() -> &'static RedisServer {
    SHARED.get_or_init(RedisServer::start)
}

impl RedisServer {
    /// A new private server (no password).
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// A new private server that requires `AUTH password`.
    pub fn start_with_password(password: &str) -> Self {
        Self::start_inner(Some(password.to_owned()))
    }

    fn start_inner(password: Option<String>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("bukubesar-redis-")
            .tempdir()
            .expect("temporary directory")
            .keep();
        let server = RedisServer {
            port: free_port(),
            dir,
            password,
            child: Mutex::new(None),
        };
        server.spawn_watchdog();
        server.resume();
        server
    }

    pub fn host(&self) -> String {
        "127.0.0.1".to_owned()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the server again on the same port and directory (the AOF is replayed).
    pub fn resume(&self) {
        let mut child = self.lock();
        assert!(child.is_none(), "redis-server is already running");
        let mut command = Command::new(
            std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".to_owned()),
        );
        command
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--daemonize", "no"])
            .arg("--pidfile")
            .arg(self.dir.join("redis.pid"))
            .arg("--logfile")
            .arg(self.dir.join("redis.log"));
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        let spawned = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (install the redis-server package)");
        *child = Some(spawned);
        drop(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "test redis-server did not start; see {}",
                self.dir.join("redis.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A clean shutdown (SIGTERM: Redis flushes the AOF and exits).
    pub fn stop(&self) {
        self.signal_and_wait("TERM");
    }

    /// A crash (SIGKILL). With `appendfsync always` every acknowledged write is on disk.
    pub fn kill(&self) {
        self.signal_and_wait("KILL");
    }

    pub fn is_running(&self) -> bool {
        self.lock().is_some()
    }

    fn signal_and_wait(&self, signal: &str) {
        let mut guard = self.lock();
        let Some(mut child) = guard.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }

    /// `PING` answered with `+PONG` (or `-NOAUTH`, which also proves it is serving).
    fn answers_ping(&self) -> bool {
        let Ok(mut stream) =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1))
        else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(b"PING\r\n").is_err() {
            return false;
        }
        let mut reply = [0_u8; 16];
        match stream.read(&mut reply) {
            Ok(n) => reply[..n].starts_with(b"+PONG") || reply[..n].starts_with(b"-NOAUTH"),
            Err(_) => false,
        }
    }

    /// Kills whatever server runs from this directory and removes it once the test process
    /// is gone.
    fn spawn_watchdog(&self) {
        let script = format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done
             kill -9 \"$(cat '{dir}/redis.pid' 2>/dev/null)\" 2>/dev/null
             sleep 0.2; rm -rf '{dir}'",
            parent = std::process::id(),
            dir = self.dir.display(),
        );
        crate::spawn_watchdog(script, "Redis");
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
