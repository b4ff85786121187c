//! The pipeline end to end on real PostgreSQL and Redis: transaksi (HTTP + outbox relay) ->
//! Redis Stream -> mutasi (consumer + HTTP).

mod access;
mod faults;
mod openapi;
mod pipeline;
mod poison;
mod support;
mod transfers;
