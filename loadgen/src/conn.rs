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
    use super::*;

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
