//! [`App`]: what every use case runs on (the datastore, the group-commit queue, the
//! authenticator), built once at start-up. The api layer holds one and never reaches past it.

use std::sync::Arc;

use bukubesar_common::auth::{self, AuthPolicy, Authenticator};
use bukubesar_common::batching::BatchSettings;
use bukubesar_common::no_rekening::NoRekening;

use crate::datastore::Datastore;

use super::AppError;
use super::commit_signal::CommitSignal;
use super::group_commit::GroupCommit;
use super::transfer::FeePolicy;

/// Cheap to clone: every part is shared.
#[derive(Clone)]
pub struct App {
    pub(super) datastore: Datastore,
    /// The queue deposits and withdrawals are posted through.
    pub(super) group_commit: GroupCommit,
    pub(super) authenticator: Arc<Authenticator>,
    /// The transfer fee (`--transfer-fee-*`).
    pub(super) fees: FeePolicy,
}

impl App {
    /// Starts the group-commit workers on the current Tokio runtime; every batch that posts
    /// something rings `committed` (the relay's wake-up).
    pub fn new(
        datastore: Datastore,
        group_commit: BatchSettings,
        auth: AuthPolicy,
        committed: CommitSignal,
        fees: FeePolicy,
    ) -> Self {
        App {
            fees,
            authenticator: Arc::new(Authenticator::new(datastore.credentials(), auth)),
            group_commit: GroupCommit::start(datastore.clone(), group_commit, committed),
            datastore,
        }
    }

    /// For the authentication middleware.
    pub fn authenticator(&self) -> Arc<Authenticator> {
        self.authenticator.clone()
    }

    /// Only the account holder may touch an account: another registered account is 403, an
    /// unregistered one is 400 ("nomor rekening tidak dikenali"). The rule is shared with
    /// mutasi.
    pub(super) async fn authorize(
        &self,
        authenticated: &NoRekening,
        requested: &NoRekening,
    ) -> Result<(), AppError> {
        let credentials = self.datastore.credentials();
        Ok(auth::authorize(&credentials, authenticated, requested).await?)
    }
}
