//! Redis settings shared by both services: `--redis-host`, `--redis-port`, `--stream`, and the
//! password from `REDIS_PASSWORD` (never a flag). The connection is lazy and reconnects by
//! itself, so a service starts and serves while Redis is down.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};

/// The stream both services use unless told otherwise.
pub const DEFAULT_STREAM: &str = "mutasi";

/// How long one Redis command may take before it counts as failed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one connection attempt may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, clap::Args)]
pub struct RedisArgs {
    /// Redis host.
    #[arg(
        id = "redis-host",
        long = "redis-host",
        default_value = "127.0.0.1",
        global = true
    )]
    pub host: String,

    /// Redis port.
    #[arg(
        id = "redis-port",
        long = "redis-port",
        default_value_t = 6379,
        global = true
    )]
    pub port: u16,

    /// The Redis Stream that carries one event per committed transaction.
    #[arg(id = "stream", long = "stream", default_value = DEFAULT_STREAM, value_parser = parse_stream_name, global = true)]
    pub stream: String,
}

fn parse_stream_name(value: &str) -> Result<String, String> {
    if !value.is_empty()
        && value.len() <= 200
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    {
        Ok(value.to_owned())
    } else {
        Err("1-200 characters from a-z A-Z 0-9 - _ . :".into())
    }
}

impl RedisArgs {
    /// A connection that is opened on first use and re-opened after a failure. `password` is
    /// `REDIS_PASSWORD` (read by the caller with [`password_from_env`]).
    pub fn connect_lazy(&self, password: Option<String>) -> redis::RedisResult<ConnectionManager> {
        let mut settings = RedisConnectionInfo::default();
        if let Some(password) = password {
            settings = settings.set_password(password);
        }
        let info: ConnectionInfo = ConnectionAddr::Tcp(self.host.clone(), self.port)
            .into_connection_info()?
            .set_redis_settings(settings);
        let client = Client::open(info)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        ConnectionManager::new_lazy_with_config(client, config)
    }
}

/// The environment variable with the Redis AUTH password.
pub const REDIS_PASSWORD_ENV: &str = "REDIS_PASSWORD";

/// `REDIS_PASSWORD`, when set and not empty.
pub fn password_from_env() -> Option<String> {
    std::env::var(REDIS_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_are_plain() {
        assert!(parse_stream_name("mutasi").is_ok());
        assert!(parse_stream_name("bukubesar:mutasi.v1").is_ok());
        for bad in ["", "a b", "x\ny", &"m".repeat(201)] {
            assert!(parse_stream_name(bad).is_err(), "{bad:?}");
        }
    }
}
