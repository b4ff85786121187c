//! One HTTP/1.1 keep-alive connection driven by hyper directly: the hot path of the load, the
//! probe. Reconnects when the server has closed the connection, and tells apart a request
//! that was certainly not sent (safe to count as "not posted") from one whose fate is unknown.

use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest wait for one answer (head and body). transaksi answers 503 itself after its
/// request timeout (15 s by default), so this only fires when something is really stuck.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a service listens: `http://host:port` (no TLS, no path).
#[derive(Clone, Debug)]
pub struct Endpoint {
    host: String,
    port: u16,
    /// The `Host` header value.
    pub authority: HeaderValue,
    /// The URL as given, without a trailing slash, for reqwest.
    pub base_url: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let base_url = url.trim_end_matches('/').to_owned();
        let Some(authority) = base_url.strip_prefix("http://") else {
            bail!("{url}: only http:// URLs are supported");
        };
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            bail!("{url}: expected http://host[:port] without a path");
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => (
                host,
                port.parse::<u16>()
                    .with_context(|| format!("{url}: invalid port"))?,
            ),
            _ => (authority, 80),
        };
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        Ok(Endpoint {
            host,
            port,
            authority: HeaderValue::from_str(authority)
                .with_context(|| format!("{url}: invalid host"))?,
            base_url,
        })
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .with_context(|| format!("connecting to {}: timed out", self.base_url))?
        .with_context(|| format!("connecting to {}", self.base_url))?;
        stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        // The connection task ends when the server closes or the sender is dropped; its error
        // (if any) is seen by the request in flight.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// What became of one request.
#[derive(Debug)]
pub enum Outcome {
    /// A complete answer.
    Answered { status: StatusCode, body: Bytes },
    /// Certainly never reached the server (no connection, or the connection was found closed
    /// before the request was written): nothing was posted.
    NotSent(anyhow::Error),
    /// Written (at least partly) but no complete answer: the server may or may not have acted.
    Unknown(anyhow::Error),
}

/// A keep-alive connection that reconnects on demand.
pub struct Connection {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    pub fn new(endpoint: Endpoint) -> Connection {
        Connection {
            endpoint,
            sender: None,
        }
    }

    /// Sends `request` and reads the whole answer. A request the closed connection handed back
    /// unsent is tried once more on a fresh connection.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Outcome {
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        let mut request = request;
        let mut attempts_left = 2;
        loop {
            attempts_left -= 1;
            let mut sender = match self.ready_sender().await {
                Ok(sender) => sender,
                Err(error) => return Outcome::NotSent(error),
            };
            let response = match tokio::time::timeout_at(deadline, sender.try_send_request(request))
                .await
            {
                Ok(Ok(response)) => response,
                Ok(Err(mut error)) => match error.take_message() {
                    Some(unsent) if attempts_left > 0 => {
                        request = unsent;
                        continue;
                    }
                    Some(_) => {
                        return Outcome::NotSent(anyhow::Error::new(error.into_error()).context(
                            "the connection closed before the request was written, twice",
                        ));
                    }
                    None => {
                        return Outcome::Unknown(
                            anyhow::Error::new(error.into_error()).context("no answer"),
                        );
                    }
                },
                Err(_) => return Outcome::Unknown(timed_out()),
            };
            let (head, body) = response.into_parts();
            return match tokio::time::timeout_at(deadline, body.collect()).await {
                Ok(Ok(collected)) => {
                    self.sender = Some(sender);
                    Outcome::Answered {
                        status: head.status,
                        body: collected.to_bytes(),
                    }
                }
                Ok(Err(error)) => {
                    Outcome::Unknown(anyhow::Error::new(error).context("reading the answer's body"))
                }
                Err(_) => Outcome::Unknown(timed_out()),
            };
        }
    }

    /// The open connection if it is still usable, else a new one.
    async fn ready_sender(&mut self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        if let Some(mut sender) = self.sender.take()
            && !sender.is_closed()
            && sender.ready().await.is_ok()
        {
            return Ok(sender);
        }
        let mut sender = self.endpoint.connect().await?;
        sender
            .ready()
            .await
            .context("the new connection closed at once")?;
        Ok(sender)
    }
}

fn timed_out() -> anyhow::Error {
    anyhow::anyhow!("no complete answer within {} s", REQUEST_TIMEOUT.as_secs())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    fn get(endpoint: &Endpoint) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::new()));
        request
            .headers_mut()
            .insert(hyper::header::HOST, endpoint.authority.clone());
        request
    }

    async fn listener() -> (TcpListener, Endpoint) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).expect("endpoint");
        (listener, endpoint)
    }

    /// Reads one request head (these requests have no body).
    async fn read_head(socket: &mut TcpStream) {
        let mut seen = Vec::new();
        let mut buffer = [0_u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buffer).await.expect("read");
            assert!(n > 0, "the client closed early");
            seen.extend_from_slice(&buffer[..n]);
        }
    }

    #[tokio::test]
    async fn answers_and_reconnects_after_the_server_closed_an_idle_connection() {
        let (listener, endpoint) = listener().await;
        let server = tokio::spawn(async move {
            // Two connections, one request each, closed after the answer.
            for _ in 0..2 {
                let (mut socket, _) = listener.accept().await.expect("accept");
                read_head(&mut socket).await;
                socket.write_all(ANSWER).await.expect("write");
            }
        });
        let mut connection = Connection::new(endpoint.clone());
        for _ in 0..2 {
            match connection.send(get(&endpoint)).await {
                Outcome::Answered { status, body } => {
                    assert_eq!((status, body.as_ref()), (StatusCode::OK, b"ok".as_ref()));
                }
                other => panic!("expected an answer, got {other:?}"),
            }
            // Let the client see the close, as with a server's idle timeout.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.await.expect("server");
    }

    #[tokio::test]
    async fn a_request_without_an_answer_has_an_unknown_outcome() {
        let (listener, endpoint) = listener().await;
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            read_head(&mut socket).await;
            drop(socket);
        });
        let outcome = Connection::new(endpoint.clone()).send(get(&endpoint)).await;
        assert!(matches!(outcome, Outcome::Unknown(_)), "{outcome:?}");
        server.await.expect("server");
    }

    #[tokio::test]
    async fn no_server_means_not_sent() {
        let (listener, endpoint) = listener().await;
        drop(listener);
        let outcome = Connection::new(endpoint.clone()).send(get(&endpoint)).await;
        assert!(matches!(outcome, Outcome::NotSent(_)), "{outcome:?}");
    }

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:18080/").expect("valid");
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 18080));
        assert_eq!(e.base_url, "http://127.0.0.1:18080");
        assert_eq!(e.authority, "127.0.0.1:18080");
        let e = Endpoint::parse("http://localhost").expect("valid");
        assert_eq!((e.host.as_str(), e.port), ("localhost", 80));
        let e = Endpoint::parse("http://[::1]:9000").expect("valid");
        assert_eq!((e.host.as_str(), e.port), ("::1", 9000));
        for bad in [
            "https://x",
            "127.0.0.1:80",
            "http://x/path",
            "http://x:port",
            "http://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
