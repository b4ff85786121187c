//! The whole platform's tests live in `tests/` (a crate of its own, so that neither service
//! depends on the other, not even for its tests):
//!
//! * `tests/platform/`: transaksi (HTTP and the outbox relay) -> Redis Stream -> mutasi
//!   (consumer and HTTP), in-process, on real PostgreSQL and Redis;
//! * `tests/chaos.rs`: the bank invariant under crashes and outages, with the real binaries;
//! * `tests/telemetry.rs`: logs, traces and metrics across both binaries;
//! * `tests/compose.rs`: docker-compose.yml and the Dockerfiles against both binaries' flags.
//!
//! The binaries are the workspace's own (`cargo test --workspace` builds them before it runs
//! these; see `bukubesar_testkit::workspace_binary`).
