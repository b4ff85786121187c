//! One group-commit batch: many deposits, withdrawals and transfers, one database transaction.
//!
//! In arrival order, each operation gets exactly the answer it would have had alone after the
//! ones before it: the rules ([`super::tabung::apply`], [`super::tarik::apply`],
//! [`super::transfer::apply`]) run in memory on the locked balances, so a withdrawal or
//! transfer that would overdraw is refused alone and the operations around it still post.
//! Every balance row the batch touches (a transfer's source and destination too) is locked at
//! once, in primary-key order: one global order, so batches never deadlock, whatever
//! directions their transfers run in. Idempotency keys behave as across requests: the first use
//! of a key in the batch executes, a later one with the same request replays its outcome, one
//! with a different request is refused ([`PostResult::KeyReused`]).
//!
//! [`execute`] runs the steps: 1. claim the keys, 2. lock the balance rows, 3. apply the rules in
//! order, 4. write everything in one statement, 5. commit, 6. answer each operation.
//!
//! Atomic: an error anywhere (including the commit) rolls the whole batch back and is every
//! operation's answer; nothing of it is written.

use std::collections::{BTreeSet, HashMap};

use bukubesar_common::event::Jenis;
use bukubesar_common::no_rekening::NoRekening;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::datastore::Datastore;
use crate::datastore::posting::{
    Akun, AkunSistem, JurnalRow, KeyClaim, KeyOutcome, PostingTx, Rekening, StoredKey,
};

use super::idempotency::Key;
use super::nominal::{Nominal, max_saldo};
use super::outcome::{Outcome, PostResult, Posted, TransferLeg, Transferred};
use super::transfer::{self, Refusal};
use super::{tabung, tarik};

/// How often a key is claimed again when its record vanished between the conflicting insert
/// and the read (removed by the retention sweep in that instant).
const MAX_CLAIM_ATTEMPTS: usize = 3;

/// What an operation does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Tabung,
    Tarik,
    /// From the posting's `no_rekening` (the caller's) to another account.
    Transfer(TransferOrder),
}

impl Kind {
    /// The code of the posting account's leg: `C` for a deposit, `D` for a withdrawal and a
    /// transfer's source.
    pub fn code(&self) -> &'static str {
        match self {
            Kind::Tabung => Jenis::CREDIT.code(),
            Kind::Tarik | Kind::Transfer(_) => Jenis::DEBIT.code(),
        }
    }

    /// The `jenis` label of metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Kind::Tabung => "tabung",
            Kind::Tarik => "tarik",
            Kind::Transfer(_) => "transfer",
        }
    }
}

/// A transfer's destination, fee (computed when the request was accepted) and texts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferOrder {
    pub tujuan: NoRekening,
    pub biaya: Decimal,
    pub keterangan: Option<String>,
    pub referensi: Option<String>,
}

/// One deposit, withdrawal or transfer, as queued for a batch.
#[derive(Clone, Debug)]
pub struct Posting {
    pub kind: Kind,
    /// The account deposited to, withdrawn from, or transferred from; its holder's
    /// idempotency key.
    pub no_rekening: NoRekening,
    pub nominal: Nominal,
    pub idempotency: Option<Idempotency>,
    /// The trace context stored with the outbox row.
    pub traceparent: Option<String>,
}

/// An `Idempotency-Key` and the fingerprint of the request that carries it.
#[derive(Clone, Debug)]
pub struct Idempotency {
    pub key: Key,
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

/// The locked balance rows, and which of them the batch changed.
struct LockedRekening {
    rows: HashMap<NoRekening, Rekening>,
    changed: BTreeSet<NoRekening>,
}

/// What steps 2 and 3 made of the operations that execute (by index into the batch).
struct Applied {
    executing: Vec<usize>,
    outcomes: HashMap<usize, Outcome>,
    locked: LockedRekening,
    tanggal_transaksi: DateTime<Utc>,
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
    let claims = claim_keys(&mut tx, batch, &roles).await?;
    let executing: Vec<usize> = (0..batch.len())
        .filter(|&i| executes(roles[i], claims.get(&i)))
        .collect();
    let mut outcomes = HashMap::new();
    if !executing.is_empty() {
        // 2. and 3. The balance rows, locked; the rules in arrival order, in memory.
        let (locked, tanggal_transaksi) = lock_rekening(&mut tx, batch, &executing).await?;
        let applied = apply_in_order(batch, executing, locked, tanggal_transaksi);
        // 4. Every write in one statement.
        write(&mut tx, batch, &roles, &applied).await?;
        outcomes = applied.outcomes;
    }
    // 5. One commit for all.
    tx.commit().await?;
    // 6. Each operation's own answer.
    Ok(answers(batch, &roles, outcomes, &claims))
}

/// Who executes: operations without a key, and the first use of each key in the batch.
fn roles(batch: &[Posting]) -> Vec<Role> {
    let mut first_use: HashMap<(&NoRekening, &str), usize> = HashMap::new();
    batch
        .iter()
        .enumerate()
        .map(|(i, posting)| match &posting.idempotency {
            None => Role::Plain,
            Some(idempotency) => {
                match first_use.entry((&posting.no_rekening, idempotency.key.as_str())) {
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

/// Whether an operation executes now: no key, or the first use of a key this batch owns.
fn executes(role: Role, claim: Option<&Claim>) -> bool {
    match role {
        Role::Plain => true,
        Role::First => matches!(claim, Some(Claim::Owned)),
        Role::Repeat { .. } => false,
    }
}

/// Step 1: claims the first use of every key (the datastore sorts them) and settles those an
/// earlier transaction committed from their records. A key whose record vanished in between
/// (the retention sweep) is claimed again, at most [`MAX_CLAIM_ATTEMPTS`] times.
async fn claim_keys(
    tx: &mut PostingTx,
    batch: &[Posting],
    roles: &[Role],
) -> Result<HashMap<usize, Claim>, sqlx::Error> {
    let mut claims = HashMap::new();
    let mut unclaimed: Vec<usize> = (0..batch.len())
        .filter(|&i| roles[i] == Role::First)
        .collect();
    for _ in 0..MAX_CLAIM_ATTEMPTS {
        if unclaimed.is_empty() {
            return Ok(claims);
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
        unclaimed = settle_taken(tx, batch, taken, &mut claims).await?;
    }
    if unclaimed.is_empty() {
        Ok(claims)
    } else {
        Err(sqlx::Error::Protocol(
            "idempotency key kept vanishing while being claimed".into(),
        ))
    }
}

/// Settles the keys in `taken` (claimed by an earlier, committed transaction) from their
/// records; returns those whose record is gone, to be claimed again.
async fn settle_taken(
    tx: &mut PostingTx,
    batch: &[Posting],
    taken: Vec<usize>,
    claims: &mut HashMap<usize, Claim>,
) -> Result<Vec<usize>, sqlx::Error> {
    if taken.is_empty() {
        return Ok(taken);
    }
    let pairs: Vec<(&NoRekening, &str)> = taken
        .iter()
        .map(|&i| {
            let claim = key_claim(&batch[i]);
            (claim.no_rekening, claim.key)
        })
        .collect();
    let stored = tx.stored_keys(&pairs).await?;
    let mut vanished = Vec::new();
    for i in taken {
        let claim = key_claim(&batch[i]);
        match stored.get(&(claim.no_rekening.clone(), claim.key.to_owned())) {
            Some(record) => {
                claims.insert(i, Claim::Settled(settled(record, claim.fingerprint)?));
            }
            None => vanished.push(i),
        }
    }
    Ok(vanished)
}

/// Step 2: locks the balance rows of the executing operations' accounts (the datastore takes
/// them in primary-key order) and reads them, with the time the batch takes effect.
async fn lock_rekening(
    tx: &mut PostingTx,
    batch: &[Posting],
    executing: &[usize],
) -> Result<(LockedRekening, DateTime<Utc>), sqlx::Error> {
    let mut no_rekening: Vec<&NoRekening> = Vec::with_capacity(executing.len());
    for &i in executing {
        no_rekening.push(&batch[i].no_rekening);
        if let Kind::Transfer(order) = &batch[i].kind {
            no_rekening.push(&order.tujuan);
        }
    }
    no_rekening.sort_unstable();
    no_rekening.dedup();
    let (rows, tanggal_transaksi) = tx.lock_rekening(&no_rekening).await?;
    let rows = rows
        .into_iter()
        .map(|rekening| (rekening.no_rekening.clone(), rekening))
        .collect();
    let locked = LockedRekening {
        rows,
        changed: BTreeSet::new(),
    };
    Ok((locked, tanggal_transaksi))
}

/// Step 3: the rules, in arrival order, in memory on the locked balances.
fn apply_in_order(
    batch: &[Posting],
    executing: Vec<usize>,
    mut locked: LockedRekening,
    tanggal_transaksi: DateTime<Utc>,
) -> Applied {
    let outcomes = executing
        .iter()
        .map(|&i| (i, apply(&batch[i], &mut locked, tanggal_transaksi)))
        .collect();
    Applied {
        executing,
        outcomes,
        locked,
        tanggal_transaksi,
    }
}

/// One operation's rule on its locked balance; a posted one moves the balance and the
/// account's transaction number.
fn apply(
    posting: &Posting,
    locked: &mut LockedRekening,
    tanggal_transaksi: DateTime<Utc>,
) -> Outcome {
    let jenis = match &posting.kind {
        Kind::Tabung => Jenis::Tabung,
        Kind::Tarik => Jenis::Tarik,
        Kind::Transfer(order) => {
            return apply_transfer(posting, order, locked, tanggal_transaksi);
        }
    };
    // Unregistered: the access rule answers before a posting is queued; kept as a refusal so
    // the batch never writes a row for an unknown account.
    let Some(rekening) = locked.rows.get(&posting.no_rekening) else {
        return Outcome::Refused;
    };
    let after = match jenis {
        Jenis::Tabung => tabung::apply(rekening.saldo, posting.nominal),
        Jenis::Tarik => tarik::apply(rekening.saldo, posting.nominal),
    };
    let Some(saldo) = after else {
        return Outcome::Refused;
    };
    let urutan_rekening = locked.set(&posting.no_rekening, saldo);
    Outcome::Posted(Posted {
        id: Uuid::now_v7(),
        no_rekening: posting.no_rekening.clone(),
        jenis,
        nominal: posting.nominal,
        saldo,
        urutan_rekening,
        tanggal_transaksi,
    })
}

/// The transfer rule on the two locked balances; a transfer to an account without a balance
/// row (checked before queueing too) or to the source itself is refused.
fn apply_transfer(
    posting: &Posting,
    order: &TransferOrder,
    locked: &mut LockedRekening,
    tanggal_transaksi: DateTime<Utc>,
) -> Outcome {
    let saldo = |no: &NoRekening| locked.rows.get(no).map(|r| r.saldo);
    let (Some(asal), Some(tujuan)) = (saldo(&posting.no_rekening), saldo(&order.tujuan)) else {
        return Outcome::TransferRefused(Refusal::UnknownTujuan);
    };
    if order.tujuan == posting.no_rekening {
        return Outcome::TransferRefused(Refusal::UnknownTujuan);
    }
    let (asal, tujuan) = match transfer::apply(asal, tujuan, posting.nominal, order.biaya) {
        Ok(after) => after,
        Err(refusal) => return Outcome::TransferRefused(refusal),
    };
    let id = Uuid::now_v7();
    let asal = TransferLeg {
        id,
        no_rekening: posting.no_rekening.clone(),
        saldo: asal,
        urutan_rekening: locked.set(&posting.no_rekening, asal),
    };
    let tujuan = TransferLeg {
        id: Uuid::now_v7(),
        no_rekening: order.tujuan.clone(),
        saldo: tujuan,
        urutan_rekening: locked.set(&order.tujuan, tujuan),
    };
    Outcome::Transferred(Box::new(Transferred {
        id,
        asal,
        tujuan,
        nominal: posting.nominal,
        biaya: order.biaya,
        keterangan: order.keterangan.clone(),
        referensi: order.referensi.clone(),
        tanggal_transaksi,
    }))
}

impl LockedRekening {
    /// Sets a locked account's balance after one more transaction; returns that
    /// transaction's number. Each balance row is written once, however many postings it got.
    fn set(&mut self, no_rekening: &NoRekening, saldo: Decimal) -> i64 {
        assert!(saldo >= Decimal::ZERO && saldo <= max_saldo());
        let rekening = self
            .rows
            .get_mut(no_rekening)
            .expect("only locked accounts are set");
        self.changed.insert(rekening.no_rekening.clone());
        rekening.saldo = saldo;
        rekening.jumlah_transaksi += 1;
        rekening.jumlah_transaksi
    }
}

/// Step 4: each changed balance once, the journal (and outbox) row of every posted operation,
/// and the outcome of every key this batch claimed, in one statement.
async fn write(
    tx: &mut PostingTx,
    batch: &[Posting],
    roles: &[Role],
    applied: &Applied,
) -> Result<(), sqlx::Error> {
    let locked = &applied.locked;
    let rows: Vec<Rekening> = locked
        .changed
        .iter()
        .filter_map(|no| locked.rows.get(no).cloned())
        .collect();
    let jurnal: Vec<JurnalRow<'_>> = applied
        .executing
        .iter()
        .flat_map(|&i| match applied.outcomes.get(&i) {
            Some(outcome) => legs(outcome, &batch[i]),
            None => Vec::new(),
        })
        .collect();
    let stored = stored_outcomes(roles, applied)?;
    let key_outcomes: Vec<KeyOutcome<'_>> = stored
        .iter()
        .map(|(i, json)| {
            let claim = key_claim(&batch[*i]);
            KeyOutcome {
                no_rekening: claim.no_rekening,
                key: claim.key,
                outcome: json,
            }
        })
        .collect();
    if rows.is_empty() && key_outcomes.is_empty() {
        return Ok(());
    }
    tx.write(&rows, &jurnal, &key_outcomes, applied.tanggal_transaksi)
        .await
}

/// The journal legs of an outcome: none for a refusal; a deposit or withdrawal is its
/// customer's leg (the leg id is the transaction id) and the opposite leg on `KAS`; a transfer
/// debits its source (`nominal + biaya`), credits its destination (`nominal`) and, when there
/// is a fee, credits `PENDAPATAN_BIAYA`.
fn legs<'a>(outcome: &'a Outcome, posting: &'a Posting) -> Vec<JurnalRow<'a>> {
    let traceparent = posting.traceparent.as_deref();
    match outcome {
        Outcome::Posted(posted) => {
            let customer = JurnalRow {
                id: posted.id,
                transaksi_id: posted.id,
                akun: Akun::Nasabah {
                    no_rekening: &posted.no_rekening,
                    saldo: posted.saldo,
                    urutan_rekening: posted.urutan_rekening,
                },
                jenis: posted.jenis,
                nominal: posted.nominal.value(),
                no_rekening_lawan: None,
                keterangan: None,
                referensi: None,
                traceparent,
            };
            let kas = system_leg(&customer, AkunSistem::Kas, posted.jenis.opposite(), None);
            vec![customer, kas]
        }
        Outcome::Transferred(transferred) => transfer_legs(transferred, traceparent),
        Outcome::Refused | Outcome::TransferRefused(_) => Vec::new(),
    }
}

fn transfer_legs<'a>(t: &'a Transferred, traceparent: Option<&'a str>) -> Vec<JurnalRow<'a>> {
    let customer = |leg: &'a TransferLeg, jenis, nominal, lawan: &'a TransferLeg| JurnalRow {
        id: leg.id,
        transaksi_id: t.id,
        akun: Akun::Nasabah {
            no_rekening: &leg.no_rekening,
            saldo: leg.saldo,
            urutan_rekening: leg.urutan_rekening,
        },
        jenis,
        nominal,
        no_rekening_lawan: Some(&lawan.no_rekening),
        keterangan: t.keterangan.as_deref(),
        referensi: t.referensi.as_deref(),
        traceparent,
    };
    let asal = customer(&t.asal, Jenis::DEBIT, t.debit(), &t.tujuan);
    let tujuan = customer(&t.tujuan, Jenis::CREDIT, t.nominal.value(), &t.asal);
    let mut legs = vec![asal, tujuan];
    if t.biaya > Decimal::ZERO {
        let fee = system_leg(
            &legs[0],
            AkunSistem::PendapatanBiaya,
            Jenis::CREDIT,
            Some(t.biaya),
        );
        legs.push(fee);
    }
    legs
}

/// A leg on a system account in the same transaction as `customer` (for `nominal`, or the
/// customer leg's).
fn system_leg<'a>(
    customer: &JurnalRow<'a>,
    akun: AkunSistem,
    jenis: Jenis,
    nominal: Option<Decimal>,
) -> JurnalRow<'a> {
    JurnalRow {
        id: Uuid::now_v7(),
        transaksi_id: customer.transaksi_id,
        akun: Akun::Sistem(akun),
        jenis,
        nominal: nominal.unwrap_or(customer.nominal),
        no_rekening_lawan: None,
        keterangan: customer.keterangan,
        referensi: customer.referensi,
        traceparent: None,
    }
}

/// The JSON each claimed key stores: its operation's outcome.
fn stored_outcomes(roles: &[Role], applied: &Applied) -> Result<Vec<(usize, String)>, sqlx::Error> {
    let mut stored = Vec::new();
    for &i in &applied.executing {
        if roles[i] == Role::First
            && let Some(outcome) = applied.outcomes.get(&i)
        {
            let json =
                serde_json::to_string(outcome).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            stored.push((i, json));
        }
    }
    Ok(stored)
}

/// Step 6: each operation's own answer, in order.
fn answers(
    batch: &[Posting],
    roles: &[Role],
    mut outcomes: HashMap<usize, Outcome>,
    claims: &HashMap<usize, Claim>,
) -> Vec<PostResult> {
    let mut results: Vec<PostResult> = Vec::with_capacity(batch.len());
    for i in 0..batch.len() {
        let result = match roles[i] {
            Role::Plain | Role::First => match (outcomes.remove(&i), claims.get(&i)) {
                (Some(outcome), _) => PostResult::Fresh(outcome),
                (None, Some(Claim::Settled(result))) => result.clone(),
                (None, _) => unreachable!("operation {i} neither executed nor settled"),
            },
            Role::Repeat { first } => repeated(&batch[i], &batch[first], &results[first]),
        };
        results.push(result);
    }
    results
}

/// A later use of a key in the same batch: a retry of the first use (its outcome, replayed)
/// when it is the same request, else a reused key.
fn repeated(posting: &Posting, first: &Posting, first_result: &PostResult) -> PostResult {
    if fingerprint(posting) != fingerprint(first) {
        return PostResult::KeyReused;
    }
    match first_result {
        PostResult::Fresh(outcome) | PostResult::Replayed(outcome) => {
            PostResult::Replayed(outcome.clone())
        }
        PostResult::KeyReused => PostResult::KeyReused,
    }
}

fn fingerprint(posting: &Posting) -> Option<&[u8]> {
    posting
        .idempotency
        .as_ref()
        .map(|idempotency| idempotency.fingerprint.as_slice())
}

/// The key of an operation that has one (callers only ask for those).
fn key_claim(posting: &Posting) -> KeyClaim<'_> {
    let (key, fingerprint) = match &posting.idempotency {
        Some(idempotency) => (idempotency.key.as_str(), idempotency.fingerprint.as_slice()),
        None => ("", &[][..]),
    };
    KeyClaim {
        no_rekening: &posting.no_rekening,
        key,
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
            kind: Kind::Tabung,
            no_rekening: NoRekening::parse(no).expect("well formed"),
            nominal: Nominal::new(Decimal::ONE).expect("valid"),
            idempotency: key.map(|k| Idempotency {
                key: Key::parse(k.as_bytes()).expect("valid key"),
                fingerprint: vec![1],
            }),
            traceparent: None,
        }
    }

    #[test]
    fn a_key_executes_once_per_account_and_batch() {
        let (one, two) = ("1234567897", "2345678904");
        let batch = [
            posting(one, Some("a")),
            posting(one, None),
            posting(one, Some("a")),
            posting(two, Some("a")),
            posting(one, Some("b")),
            posting(two, Some("a")),
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
