//! [`App`]: what the HTTP side of mutasi runs on (its datastore, the credential table, the
//! authenticator, a view of the stream, the consumer's counters), built once at start-up. The
//! api layer holds one and never reaches past it.

use std::sync::Arc;

use bukubesar_common::auth::{AuthPolicy, Authenticator, CredentialStore};

use crate::datastore::Datastore;
use crate::datastore::stream::StreamMonitor;

use super::stats::ConsumerStats;

/// Cheap to clone: every part is shared.
#[derive(Clone)]
pub struct App {
    pub(super) datastore: Datastore,
    /// The credential table in transaksi's database (read-mostly, through a restricted role).
    pub(super) credentials: CredentialStore,
    pub(super) authenticator: Arc<Authenticator>,
    /// The consumed stream, for readiness and the group's lag and pending count.
    pub(super) stream: StreamMonitor,
    /// The consumed group.
    pub(super) group: String,
    pub(super) stats: Arc<ConsumerStats>,
}

impl App {
    pub fn new(
        datastore: Datastore,
        credentials: CredentialStore,
        auth: AuthPolicy,
        stream: StreamMonitor,
        group: String,
        stats: Arc<ConsumerStats>,
    ) -> Self {
        App {
            authenticator: Arc::new(Authenticator::new(credentials.clone(), auth)),
            datastore,
            credentials,
            stream,
            group,
            stats,
        }
    }

    /// For the authentication middleware.
    pub fn authenticator(&self) -> Arc<Authenticator> {
        self.authenticator.clone()
    }

    /// The consumer's counters since start.
    pub fn stats(&self) -> &ConsumerStats {
        &self.stats
    }
}
