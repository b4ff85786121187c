//! One group-commit batch: many deposits and withdrawals, one database transaction.
//!
//! In arrival order, each operation gets exactly the answer it would have had alone after the
//! ones before it: the rules ([`super::tabung::apply`], [`super::tarik::apply`]) run in memory
//! on the locked balances, so a withdrawal that would overdraw is refused alone and the
//! operations around it still post. Idempotency keys behave as across requests: the first use
//! of a key in the batch executes, a later one with the same request replays its outcome, one
//! with a different request is refused ([`PostResult::KeyReused`]).
//!
//! Atomic: an error anywhere (including the commit) rolls the whole batch back and is every
//! operation's answer; nothing of it is written.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::datastore::Datastore;
use crate::datastore::posting::{
    JournalRow, KeyClaim, KeyOutcome, Outcome, PostResult, Posted, Rekening, StoredKey,
};

use super::nominal::max_saldo;
use super::posting::{Jenis, apply};

/// How often a key is claimed again when its record vanished between the conflicting insert
/// and the read (removed by the retention sweep in that instant).
const MAX_CLAIM_ATTEMPTS: usize = 3;

/// One deposit or withdrawal, as queued for a batch.
#[derive(Clone, Debug)]
pub struct Posting {
    pub jenis: Jenis,
    pub no_rekening: String,
    pub nominal: Decimal,
    pub idempotency: Option<Idempotency>,
    /// The trace context stored with the outbox row.
    pub traceparent: Option<String>,
}

/// An `Idempotency-Key` and the fingerprint of the request that carries it.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: Vec<u8>,
}

/// What an operation's idempotency key makes of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// No key: it executes.
    Plain,
    /// The first operation in the batch with its key.
    First,
    /// A later operation with the key of operation `first`.
    Repeat { first: usize },
}

/// The state of a first use of a key after claiming.
enum Claim {
    /// This transaction owns the key: the operation executes and stores its outcome.
    Owned,
    /// Committed earlier: the stored outcome, or a different request.
    Settled(PostResult),
}

/// Posts `batch` in one transaction and returns one result per operation, in order.
pub async fn execute(
    datastore: &Datastore,
    batch: &[Posting],
) -> Result<Vec<PostResult>, sqlx::Error> {
    assert!(!batch.is_empty(), "an empty batch is never executed");
    let roles = roles(batch);
    let mut tx = datastore.begin_postings().await?;

    // 1. Idempotency keys, before any balance row (the lock order).
    let firsts: Vec<usize> = (0..batch.len())
        .filter(|&i| roles[i] == Role::First)
        .collect();
    let mut claims: HashMap<usize, Claim> = HashMap::with_capacity(firsts.len());
    let mut unclaimed = firsts;
    for _ in 0..MAX_CLAIM_ATTEMPTS {
        if unclaimed.is_empty() {
            break;
        }
        let keys: Vec<KeyClaim<'_>> = unclaimed.iter().map(|&i| key_claim(&batch[i])).collect();
        let owned = tx.claim_keys(&keys).await?;
        let mut taken = Vec::new();
        for (&i, owned) in unclaimed.iter().zip(owned) {
            if owned {
                claims.insert(i, Claim::Owned);
            } else {
                taken.push(i);
            }
        }
        if taken.is_empty() {
            unclaimed = taken;
            break;
        }
        let pairs: Vec<(&str, &str)> = taken
            .iter()
            .map(|&i| {
                let claim = key_claim(&batch[i]);
                (claim.no_rekening, claim.kunci)
            })
            .collect();
        let stored = tx.stored_keys(&pairs).await?;
        unclaimed = Vec::new();
        for i in taken {
            let claim = key_claim(&batch[i]);
            match stored.get(&(claim.no_rekening.to_owned(), claim.kunci.to_owned())) {
                Some(record) => {
                    claims.insert(i, Claim::Settled(settled(record, claim.fingerprint)?));
                }
                None => unclaimed.push(i),
            }
        }
    }
    if !unclaimed.is_empty() {
        return Err(sqlx::Error::Protocol(
            "idempotency key kept vanishing while being claimed".into(),
        ));
    }

    // 2. The operations that execute, and their balance rows.
    let executes = |i: usize| match roles[i] {
        Role::Plain => true,
        Role::First => matches!(claims.get(&i), Some(Claim::Owned)),
        Role::Repeat { .. } => false,
    };
    let executing: Vec<usize> = (0..batch.len()).filter(|&i| executes(i)).collect();
    let mut outcomes: HashMap<usize, Outcome> = HashMap::with_capacity(executing.len());
    if !executing.is_empty() {
        let mut accounts: Vec<&str> = executing
            .iter()
            .map(|&i| batch[i].no_rekening.as_str())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        let (locked, tanggal_transaksi) = tx.lock_accounts(&accounts).await?;
        let mut balances: HashMap<String, Rekening> = locked
            .into_iter()
            .map(|rekening| (rekening.no_rekening.clone(), rekening))
            .collect();
        let mut changed: BTreeSet<String> = BTreeSet::new();

        // 3. The rules, in arrival order, in memory.
        for &i in &executing {
            let posting = &batch[i];
            let outcome = match balances.get_mut(&posting.no_rekening) {
                // Unregistered: the access rule answers before a posting is queued; kept
                // as a refusal so the batch never writes a row for an unknown account.
                None => Outcome::Refused,
                Some(rekening) => match apply(posting.jenis, rekening.saldo, posting.nominal) {
                    None => Outcome::Refused,
                    Some(saldo) => {
                        assert!(saldo >= Decimal::ZERO && saldo <= max_saldo());
                        // Each balance row is written once, however many postings it got.
                        changed.insert(rekening.no_rekening.clone());
                        rekening.saldo = saldo;
                        rekening.jumlah_transaksi += 1;
                        Outcome::Posted(Posted {
                            id: Uuid::now_v7(),
                            no_rekening: posting.no_rekening.clone(),
                            jenis: posting.jenis,
                            nominal: posting.nominal,
                            saldo,
                            urutan_rekening: rekening.jumlah_transaksi,
                            tanggal_transaksi,
                        })
                    }
                },
            };
            outcomes.insert(i, outcome);
        }

        // 4. Every write in one statement.
        let rows: Vec<Rekening> = changed
            .iter()
            .filter_map(|no| balances.get(no).cloned())
            .collect();
        let journal: Vec<JournalRow<'_>> = executing
            .iter()
            .filter_map(|i| match outcomes.get(i) {
                Some(Outcome::Posted(posted)) => Some(JournalRow {
                    posted,
                    traceparent: batch[*i].traceparent.as_deref(),
                }),
                _ => None,
            })
            .collect();
        let mut stored = Vec::new();
        for &i in &executing {
            if roles[i] == Role::First
                && let Some(outcome) = outcomes.get(&i)
            {
                let json =
                    serde_json::to_string(outcome).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                stored.push((i, json));
            }
        }
        let key_outcomes: Vec<KeyOutcome<'_>> = stored
            .iter()
            .map(|(i, json)| {
                let claim = key_claim(&batch[*i]);
                KeyOutcome {
                    no_rekening: claim.no_rekening,
                    kunci: claim.kunci,
                    outcome: json,
                }
            })
            .collect();
        if !rows.is_empty() || !key_outcomes.is_empty() {
            tx.write(&rows, &journal, &key_outcomes, tanggal_transaksi)
                .await?;
        }
    }

    // 5. One commit for all.
    tx.commit().await?;

    // 6. Each operation's own answer.
    let mut results: Vec<PostResult> = Vec::with_capacity(batch.len());
    for i in 0..batch.len() {
        let result = match roles[i] {
            Role::Plain | Role::First => match (outcomes.remove(&i), claims.get(&i)) {
                (Some(outcome), _) => PostResult::Fresh(outcome),
                (None, Some(Claim::Settled(result))) => result.clone(),
                (None, _) => unreachable!("operation {i} neither executed nor settled"),
            },
            Role::Repeat { first } => {
                let same_request = batch[i].idempotency.as_ref().map(|k| &k.fingerprint)
                    == batch[first].idempotency.as_ref().map(|k| &k.fingerprint);
                if !same_request {
                    PostResult::KeyReused
                } else {
                    match &results[first] {
                        PostResult::Fresh(outcome) | PostResult::Replayed(outcome) => {
                            PostResult::Replayed(outcome.clone())
                        }
                        PostResult::KeyReused => PostResult::KeyReused,
                    }
                }
            }
        };
        results.push(result);
    }
    Ok(results)
}

/// Who executes: operations without a key, and the first use of each key in the batch.
fn roles(batch: &[Posting]) -> Vec<Role> {
    let mut first_use: HashMap<(&str, &str), usize> = HashMap::new();
    batch
        .iter()
        .enumerate()
        .map(|(i, posting)| match &posting.idempotency {
            None => Role::Plain,
            Some(idempotency) => {
                match first_use.entry((posting.no_rekening.as_str(), idempotency.key.as_str())) {
                    std::collections::hash_map::Entry::Occupied(first) => Role::Repeat {
                        first: *first.get(),
                    },
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(i);
                        Role::First
                    }
                }
            }
        })
        .collect()
}

/// The key of an operation that has one (callers only ask for those).
fn key_claim(posting: &Posting) -> KeyClaim<'_> {
    let (kunci, fingerprint) = match &posting.idempotency {
        Some(idempotency) => (idempotency.key.as_str(), idempotency.fingerprint.as_slice()),
        None => ("", &[][..]),
    };
    KeyClaim {
        no_rekening: &posting.no_rekening,
        kunci,
        fingerprint,
    }
}

/// The answer for a key committed earlier.
fn settled(record: &StoredKey, fingerprint: &[u8]) -> Result<PostResult, sqlx::Error> {
    if record.fingerprint != fingerprint {
        return Ok(PostResult::KeyReused);
    }
    match &record.outcome {
        Some(stored) => {
            let outcome: Outcome =
                serde_json::from_str(stored).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(PostResult::Replayed(outcome))
        }
        // The record and its outcome are written in one transaction, so a committed record
        // without an outcome means the schema was tampered with.
        None => Err(sqlx::Error::Protocol(
            "idempotency record committed without an outcome".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posting(no: &str, key: Option<&str>) -> Posting {
        Posting {
            jenis: Jenis::Tabung,
            no_rekening: no.into(),
            nominal: Decimal::ONE,
            idempotency: key.map(|k| Idempotency {
                key: k.into(),
                fingerprint: vec![1],
            }),
            traceparent: None,
        }
    }

    #[test]
    fn a_key_executes_once_per_account_and_batch() {
        let batch = [
            posting("1", Some("a")),
            posting("1", None),
            posting("1", Some("a")),
            posting("2", Some("a")),
            posting("1", Some("b")),
            posting("2", Some("a")),
        ];
        assert_eq!(
            roles(&batch),
            vec![
                Role::First,
                Role::Plain,
                Role::Repeat { first: 0 },
                Role::First,
                Role::First,
                Role::Repeat { first: 3 },
            ]
        );
    }
}
