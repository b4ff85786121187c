//! transaksi's HTTP API against a real PostgreSQL (see `support::postgres`).

mod amounts;
mod auth;
mod binary;
mod concurrency;
mod group_commit;
mod hostile;
mod idempotency;
mod ledger;
mod openapi;
mod properties;
mod properties_mixed;
mod registration;
mod relay;
mod routing;
mod scenarios;
mod support;
mod throttle;
mod transfer;
