//! Test support for the services' integration tests (feature `testkit`, dev-dependency only).

pub mod postgres;
