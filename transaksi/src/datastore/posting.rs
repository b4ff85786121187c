//! The money statements. A deposit or withdrawal is ONE database transaction that updates the
//! balance, writes the journal row and writes the outbox row; without an idempotency key it is
//! one single statement (one round trip), with a key the key's record joins the same
//! transaction.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use bukubesar_common::trace::Traceparent;
use tracing::Instrument;

use super::Datastore;
use crate::app::nominal::max_saldo;

pub use bukubesar_common::event::Jenis;

/// A committed deposit or withdrawal: the journal row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub id: Uuid,
    pub no_rekening: String,
    pub jenis: Jenis,
    pub nominal: Decimal,
    /// The balance right after this transaction.
    pub saldo: Decimal,
    /// The account's transaction number (1, 2, 3, ... in commit order). Outcomes stored before
    /// the number existed read back as 0.
    #[serde(default)]
    pub urutan_rekening: i64,
    pub tanggal_transaksi: DateTime<Utc>,
}

/// The business outcome of a posting, as stored for idempotent replay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hasil", content = "jurnal")]
pub enum Outcome {
    Posted(Posted),
    /// The operation's guard refused it (balance too low, or balance limit); nothing written.
    Refused,
}

#[derive(Debug)]
pub enum PostResult {
    /// Executed now.
    Fresh(Outcome),
    /// The stored outcome of an earlier request with the same key and the same request.
    Replayed(Outcome),
    /// The key was used before for a different request.
    KeyReused,
}

/// Journal and outbox rows written from the updated balance row `r`, in the same statement.
/// Parameters: $1 account, $2 amount, $3 transaction id, $4 jenis code, $5 traceparent.
macro_rules! journal_and_outbox {
    () => {
        ", j AS (
             INSERT INTO jurnal (id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening)
             SELECT $3, no_rekening, $4, $2, saldo, jumlah_transaksi FROM r
             RETURNING id, no_rekening, jenis_transaksi, nominal, saldo, urutan_rekening,
                       tanggal_transaksi
         ), o AS (
             INSERT INTO outbox (event_id, tanggal_transaksi, no_rekening, jenis_transaksi,
                                 nominal, saldo, urutan_rekening, traceparent)
             SELECT id, tanggal_transaksi, no_rekening, jenis_transaksi, nominal, saldo,
                    urutan_rekening, $5
               FROM j
         )
         SELECT saldo, urutan_rekening, tanggal_transaksi FROM j"
    };
}

/// Deposit: add the amount unless the balance would pass the maximum ($6).
const TABUNG: &str = concat!(
    "WITH r AS (
         UPDATE rekening SET saldo = saldo + $2, jumlah_transaksi = jumlah_transaksi + 1,
                             diperbarui_pada = now()
          WHERE no_rekening = $1 AND saldo + $2 <= $6
      RETURNING no_rekening, saldo, jumlah_transaksi
     )",
    journal_and_outbox!()
);

/// Withdrawal: subtract the amount only if the balance covers it. The guard and the debit are
/// one atomic UPDATE; under concurrency PostgreSQL re-checks the guard on the newest row
/// version after waiting for the row lock, so two withdrawals can never both spend the same
/// money.
const TARIK: &str = concat!(
    "WITH r AS (
         UPDATE rekening SET saldo = saldo - $2, jumlah_transaksi = jumlah_transaksi + 1,
                             diperbarui_pada = now()
          WHERE no_rekening = $1 AND saldo >= $2
      RETURNING no_rekening, saldo, jumlah_transaksi
     )",
    journal_and_outbox!()
);

/// How often a claim is retried when the key's record vanished between the conflicting
/// insert and the read (removed by the retention sweep in that instant).
const MAX_CLAIM_ATTEMPTS: usize = 3;

impl Datastore {
    /// Posts a deposit or withdrawal. `idempotency` is `(key, request fingerprint)`. The
    /// transaction is traced as the span `db.posting`, whose trace context goes into the outbox
    /// row (so the statement line joins the request's trace). A committed posting wakes the
    /// outbox relay.
    pub async fn post(
        &self,
        posting: &Posting<'_>,
        idempotency: Option<(&str, &[u8])>,
    ) -> Result<PostResult, sqlx::Error> {
        let span = tracing::info_span!(
            "db.posting",
            otel.kind = "client",
            db.system.name = "postgresql",
            jenis_transaksi = posting.jenis.code(),
            idempotent = idempotency.is_some()
        );
        let traceparent = Traceparent::of(&span).map(|t| t.to_string());
        let result = self
            .post_and_commit(posting, idempotency, traceparent.as_deref())
            .instrument(span)
            .await;
        if let Ok(PostResult::Fresh(Outcome::Posted(_))) = &result {
            self.outbox_written.notify_one();
        }
        result
    }

    /// The posting's one transaction; the caller signals the relay once it has committed.
    async fn post_and_commit(
        &self,
        posting: &Posting<'_>,
        idempotency: Option<(&str, &[u8])>,
        traceparent: Option<&str>,
    ) -> Result<PostResult, sqlx::Error> {
        let no_rekening = posting.no_rekening;
        let Some((key, fingerprint)) = idempotency else {
            let outcome = post_once(&self.pool, posting, traceparent).await?;
            return Ok(PostResult::Fresh(outcome));
        };
        for _ in 0..MAX_CLAIM_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            // Waits on the unique index if a concurrent request holds the same key, then
            // either claims it (that request rolled back) or finds it taken.
            let claimed = sqlx::query(
                "INSERT INTO idempotensi (no_rekening, kunci, sidik_permintaan)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(no_rekening)
            .bind(key)
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if claimed {
                let outcome = post_once(&mut *tx, posting, traceparent).await?;
                let stored = serde_json::to_string(&outcome)
                    .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
                sqlx::query(
                    "UPDATE idempotensi SET hasil = $3 WHERE no_rekening = $1 AND kunci = $2",
                )
                .bind(no_rekening)
                .bind(key)
                .bind(stored)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(PostResult::Fresh(outcome));
            }
            tx.rollback().await?;
            let existing: Option<(Vec<u8>, Option<String>)> = sqlx::query_as(
                "SELECT sidik_permintaan, hasil FROM idempotensi
                  WHERE no_rekening = $1 AND kunci = $2",
            )
            .bind(no_rekening)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
            match existing {
                None => continue,
                Some((stored_fingerprint, _)) if stored_fingerprint != fingerprint => {
                    return Ok(PostResult::KeyReused);
                }
                Some((_, Some(stored))) => {
                    let outcome = serde_json::from_str(&stored)
                        .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                    return Ok(PostResult::Replayed(outcome));
                }
                Some((_, None)) => {
                    // The record and its outcome are written in one transaction, so a
                    // committed record without an outcome means the schema was tampered with.
                    return Err(sqlx::Error::Protocol(
                        "idempotency record committed without an outcome".into(),
                    ));
                }
            }
        }
        Err(sqlx::Error::Protocol(
            "idempotency key kept vanishing while being claimed".into(),
        ))
    }
}

/// One deposit or withdrawal to post.
#[derive(Debug)]
pub struct Posting<'a> {
    pub jenis: Jenis,
    pub no_rekening: &'a str,
    pub nominal: Decimal,
}

/// `traceparent` is stored with the outbox row.
async fn post_once<'e, E>(
    executor: E,
    posting: &Posting<'_>,
    traceparent: Option<&str>,
) -> Result<Outcome, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let Posting {
        jenis,
        no_rekening,
        nominal,
    } = *posting;
    let id = Uuid::now_v7();
    let query = match jenis {
        Jenis::Tabung => sqlx::query_as(TABUNG),
        Jenis::Tarik => sqlx::query_as(TARIK),
    };
    let mut query = query
        .bind(no_rekening)
        .bind(nominal)
        .bind(id)
        .bind(jenis.code())
        .bind(traceparent);
    if jenis == Jenis::Tabung {
        query = query.bind(max_saldo());
    }
    let row: Option<(Decimal, i64, DateTime<Utc>)> = query.fetch_optional(executor).await?;
    Ok(match row {
        Some((saldo, urutan_rekening, tanggal_transaksi)) => Outcome::Posted(Posted {
            id,
            no_rekening: no_rekening.to_owned(),
            jenis,
            nominal,
            saldo,
            urutan_rekening,
            tanggal_transaksi,
        }),
        None => Outcome::Refused,
    })
}
