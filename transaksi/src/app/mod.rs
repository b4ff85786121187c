//! Business rules. No SQL and no HTTP here: the rules call the datastore and return
//! [`AppError`]s, which the api layer turns into responses. The api layer holds a
//! [`context::App`] and calls the use cases with it.
//!
//! Where to find a rule:
//! * registration fields: [`pendaftaran`] (account numbers: `bukubesar_common::no_rekening`)
//! * amounts (`nominal`): [`nominal`]
//! * deposits and withdrawals, one way down: [`posting::execute`] (the only entry) queues for
//!   group commit ([`group_commit`]); one batch's transaction ([`batch`]) applies, in order,
//!   the deposit rule [`tabung::apply`] or the withdrawal rule [`tarik::apply`]; what a posting
//!   comes to: [`outcome`]
//! * transfers, the same way down: [`posting::transfer`]; the rule and the fee:
//!   [`transfer`]
//! * one transaction's legs as a party may see them: [`transaksi`]
//! * the balance: [`saldo`]
//! * PIN checks, the credential cache and lockout: `bukubesar_common::auth` (shared with
//!   mutasi, which reads the same credential table)
//! * idempotency keys: [`idempotency`]
//! * publishing committed postings to the stream: [`relay`], woken by the
//!   [`commit_signal`] the group commit rings
//! * readiness and what is counted for `/metrics`: [`health`], [`metrics`]

pub mod batch;
pub mod commit_signal;
pub mod context;
pub mod error;
pub mod group_commit;
pub mod health;
pub mod idempotency;
pub mod metrics;
pub mod nominal;
pub mod outcome;
pub mod pendaftaran;
pub mod posting;
pub mod relay;
pub mod saldo;
pub mod tabung;
pub mod tarik;
pub mod transaksi;
pub mod transfer;

pub use error::AppError;
