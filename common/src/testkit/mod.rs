//! Test support for the services' integration tests (feature `testkit`, dev-dependency only):
//! throwaway PostgreSQL and Redis servers.

pub mod postgres;
pub mod redis;
