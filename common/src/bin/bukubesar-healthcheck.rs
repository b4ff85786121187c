//! `bukubesar-healthcheck URL`: exits 0 when `GET URL` answers 2xx within two seconds, 1
//! otherwise (2 on a usage error). It is the container `HEALTHCHECK` of the transaksi, mutasi
//! and operator images: their runtime image (distroless) has no shell, curl or wget, so the
//! probe is this small std-only program, run in exec form. Only plain `http://host[:port]/path`
//! URLs, which is all a probe of the process's own port needs.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// Connect, write and read each get at most this long.
const TIMEOUT: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url] = args.as_slice() else {
        eprintln!("usage: bukubesar-healthcheck http://HOST[:PORT]/PATH");
        return ExitCode::from(2);
    };
    match probe(url, TIMEOUT) {
        Ok(status) if (200..300).contains(&status) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{url}: HTTP {status}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{url}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// As written in the URL (brackets kept for IPv6), for the `Host` header.
    authority: String,
    host: String,
    port: u16,
    path: String,
}

fn parse(url: &str) -> Result<Target, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// URLs are supported".to_owned())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| "unclosed [ in the host".to_owned())?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err("unexpected text after the IPv6 address".into()),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| format!("bad port {p:?}"))?,
        None => 80,
    };
    if host.is_empty() || host.contains(['@', ' ', '/']) {
        return Err(format!("bad host {host:?}"));
    }
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err("the path may not contain spaces or control characters".into());
    }
    Ok(Target {
        authority: authority.to_owned(),
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    })
}

fn connect(target: &Target, timeout: Duration) -> Result<TcpStream, String> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
        .collect();
    let mut last = format!("{} resolves to no address", target.host);
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// The status code of `GET url`.
fn probe(url: &str, timeout: Duration) -> Result<u16, String> {
    let target = parse(url)?;
    let mut stream = connect(&target, timeout)?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: bukubesar-healthcheck\r\nConnection: close\r\n\r\n",
        target.path, target.authority
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending the request: {e}"))?;
    // Only the status line matters: "HTTP/1.1 200 OK\r\n".
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("reading the answer: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_code(&head)
}

fn status_code(head: &[u8]) -> Result<u16, String> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/") => code
            .parse::<u16>()
            .map_err(|_| format!("not an HTTP status line: {line:?}")),
        _ => Err(format!("not an HTTP answer: {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    fn target(authority: &str, host: &str, port: u16, path: &str) -> Target {
        Target {
            authority: authority.into(),
            host: host.into(),
            port,
            path: path.into(),
        }
    }

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse("http://127.0.0.1:8080/readyz"),
            Ok(target("127.0.0.1:8080", "127.0.0.1", 8080, "/readyz"))
        );
        assert_eq!(
            parse("http://localhost"),
            Ok(target("localhost", "localhost", 80, "/"))
        );
        assert_eq!(
            parse("http://[::1]:8081/healthz?x=1"),
            Ok(target("[::1]:8081", "::1", 8081, "/healthz?x=1"))
        );
        for bad in [
            "https://127.0.0.1/",
            "127.0.0.1:8080",
            "http://:8080/",
            "http://host:99999/",
            "http://host:x/",
            "http://[::1/",
            "http://[::1]x/",
            "http://user@host/",
            "http://host/a b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\nx: y\r\n"), Ok(200));
        assert_eq!(
            status_code(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Ok(503)
        );
        assert!(status_code(b"").is_err());
        assert!(status_code(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(status_code(b"HTTP/1.1 abc\r\n").is_err());
    }

    /// A one-shot server answering `answer` and handing back the request it read.
    fn serve_once(answer: &'static str) -> (String, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/readyz", listener.local_addr().expect("addr"));
        let handle = thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut request = Vec::new();
            let mut buf = [0u8; 512];
            while !request.ends_with(b"\r\n\r\n") {
                let n = conn.read(&mut buf).expect("read");
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(answer.as_bytes()).expect("write");
            String::from_utf8(request).expect("utf-8")
        });
        (url, handle)
    }

    #[test]
    fn probes_a_real_server() {
        let (url, server) = serve_once("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        assert_eq!(probe(&url, TIMEOUT), Ok(200));
        let request = server.join().expect("server");
        assert!(request.starts_with("GET /readyz HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("\r\nHost: 127.0.0.1:"), "{request}");

        let (url, server) = serve_once("HTTP/1.1 503 Service Unavailable\r\n\r\n{}");
        assert_eq!(probe(&url, TIMEOUT), Ok(503));
        server.join().expect("server");
    }

    #[test]
    fn nothing_listening_is_an_error() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let error = probe(&format!("http://127.0.0.1:{port}/"), TIMEOUT).unwrap_err();
        assert!(error.contains("cannot connect"), "{error}");
    }
}
