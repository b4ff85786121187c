//! Matching an account's statement (mutasi, newest first) against what the client saw posted.
//!
//! With `k` operations answered 200 since the start snapshot, the newest `k` statement lines
//! must be exactly those operations (the same multiset of (jenis, nominal, saldo)), the line
//! before them must carry the start balance (or, if there is none, the start balance must be
//! 0), and every line's saldo must follow from the older line's saldo and its own amount.
//! Transfers into the account are among them, matched by kind and amount only: the client
//! never learns the destination's saldo (the saldo chain still checks those lines).

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::ops::Jenis;

/// One statement line, or one operation as answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Line {
    pub jenis: Jenis,
    pub nominal: Decimal,
    pub saldo: Decimal,
}

/// The verdict on one account's statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Operations answered 200 (rows that must be in the statement).
    pub expected: usize,
    /// Of those, how many the newest `expected` lines hold.
    pub found: usize,
    /// Everything that is wrong; empty when the statement matches.
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks `newest_first` (at least `expected.len() + 1` lines when the statement has that many)
/// against the operations `expected` and the balance at the start snapshot.
#[cfg(test)]
pub fn check(start_saldo: Decimal, expected: &[Line], newest_first: &[Line]) -> Verdict {
    check_with_credits(start_saldo, expected, &[], newest_first)
}

/// [`check`], with `credits`: transfers into the account, (kind, amount) without a known
/// saldo.
pub fn check_with_credits(
    start_saldo: Decimal,
    expected: &[Line],
    credits: &[(Jenis, Decimal)],
    newest_first: &[Line],
) -> Verdict {
    let k = expected.len() + credits.len();
    let newest = &newest_first[..k.min(newest_first.len())];
    let mut problems = Vec::new();

    let (found, extra) = matching(expected, credits, newest);
    if newest_first.len() < k {
        problems.push(format!(
            "{} of {k} lines in the statement",
            newest_first.len()
        ));
    }
    if found < k {
        problems.push(format!("{} posted operations missing", k - found));
    }
    if extra > 0 {
        problems.push(format!(
            "{extra} lines among the newest {k} that were not posted by this run"
        ));
    }

    // The line before this run's lines is the start balance; none means the account was
    // empty.
    let older = newest_first.get(k);
    let base = older.map_or(Decimal::ZERO, |line| line.saldo);
    if newest_first.len() >= k && base != start_saldo {
        match older {
            Some(_) => problems.push(format!(
                "the line before this run's lines has saldo {base}, the start snapshot was {start_saldo}"
            )),
            None => problems.push(format!(
                "no line before this run's lines, but the start snapshot was {start_saldo}"
            )),
        }
    }

    // Each line's saldo follows from the older line's.
    let broken_links = (0..newest.len())
        .filter(|&i| {
            let previous = newest_first.get(i + 1).map_or(Decimal::ZERO, |l| l.saldo);
            let line = &newest[i];
            line.saldo != previous + line.jenis.signed(line.nominal)
        })
        .count();
    if broken_links > 0 {
        problems.push(format!(
            "{broken_links} lines whose saldo does not follow from the line before"
        ));
    }

    Verdict {
        expected: k,
        found,
        problems,
    }
}

/// The multiset intersection of the `newest` lines with the `expected` operations (exactly)
/// and then with the `credits` (by kind and amount): how many were found, and how many of the
/// newest lines were not expected.
fn matching(expected: &[Line], credits: &[(Jenis, Decimal)], newest: &[Line]) -> (usize, usize) {
    let mut wanted: HashMap<Line, usize> = HashMap::with_capacity(expected.len());
    for line in expected {
        *wanted.entry(normalized(line)).or_default() += 1;
    }
    let mut blind: HashMap<(Jenis, Decimal), usize> = HashMap::with_capacity(credits.len());
    for (jenis, nominal) in credits {
        *blind.entry((*jenis, nominal.normalize())).or_default() += 1;
    }
    let mut found = 0;
    let mut unmatched = Vec::new();
    for line in newest {
        match wanted.get_mut(&normalized(line)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                found += 1;
            }
            _ => unmatched.push(line),
        }
    }
    let mut extra = 0;
    for line in unmatched {
        match blind.get_mut(&(line.jenis, line.nominal.normalize())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                found += 1;
            }
            _ => extra += 1,
        }
    }
    (found, extra)
}

/// Decimals equal in value hash alike only with the same scale; compare values.
fn normalized(line: &Line) -> Line {
    Line {
        jenis: line.jenis,
        nominal: line.nominal.normalize(),
        saldo: line.saldo.normalize(),
    }
}

#[cfg(test)]
// Amounts in cents are grouped as money: 100_00 is 100.00.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    fn d(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    fn line(jenis: Jenis, nominal: i64, saldo: i64) -> Line {
        Line {
            jenis,
            nominal: d(nominal),
            saldo: d(saldo),
        }
    }

    use Jenis::{Tabung as C, Tarik as D};

    /// Start 100.00; this run: +50.00 → 150.00, −20.00 → 130.00, +1.00 → 131.00 (answers may
    /// arrive in any order).
    fn run() -> (Vec<Line>, Vec<Line>) {
        let expected = vec![
            line(D, 20_00, 130_00),
            line(C, 1_00, 131_00),
            line(C, 50_00, 150_00),
        ];
        let statement = vec![
            line(C, 1_00, 131_00),
            line(D, 20_00, 130_00),
            line(C, 50_00, 150_00),
            line(C, 100_00, 100_00),
        ];
        (expected, statement)
    }

    #[test]
    fn a_complete_statement_matches() {
        let (expected, statement) = run();
        let v = check(d(100_00), &expected, &statement);
        assert!(v.ok(), "{v:?}");
        assert_eq!((v.expected, v.found), (3, 3));
    }

    #[test]
    fn a_fresh_account_has_no_older_line() {
        let expected = [line(C, 5_00, 5_00), line(D, 1_00, 4_00)];
        let statement = [line(D, 1_00, 4_00), line(C, 5_00, 5_00)];
        assert!(check(Decimal::ZERO, &expected, &statement).ok());
        // But a non-zero start needs that older line.
        assert!(!check(d(1), &expected, &statement).ok());
    }

    #[test]
    fn a_missing_line_fails() {
        let (expected, mut statement) = run();
        statement.remove(1);
        let v = check(d(100_00), &expected, &statement);
        assert!(!v.ok());
        assert_eq!(v.found, 2);
    }

    #[test]
    fn a_lagging_statement_fails() {
        let (expected, statement) = run();
        let v = check(d(100_00), &expected, &statement[1..]);
        assert!(!v.ok());
        let v = check(d(100_00), &expected, &statement[3..]);
        assert_eq!(v.found, 0);
        assert!(!v.ok());
    }

    #[test]
    fn an_extra_line_fails() {
        let (expected, mut statement) = run();
        statement.insert(0, line(C, 1_00, 132_00));
        let v = check(d(100_00), &expected, &statement);
        assert!(!v.ok(), "{v:?}");
    }

    #[test]
    fn a_duplicated_line_fails() {
        // Same operation twice in the statement, one posted operation missing.
        let expected = [line(C, 1_00, 1_00), line(C, 1_00, 2_00)];
        let statement = [line(C, 1_00, 1_00), line(C, 1_00, 1_00)];
        let v = check(Decimal::ZERO, &expected, &statement);
        assert_eq!(v.found, 1);
        assert!(!v.ok());
    }

    #[test]
    fn a_wrong_amount_or_kind_fails() {
        let (expected, mut statement) = run();
        statement[0].nominal = d(1_01);
        assert!(!check(d(100_00), &expected, &statement).ok());
        let (expected, mut statement) = run();
        statement[1].jenis = C;
        assert!(!check(d(100_00), &expected, &statement).ok());
    }

    #[test]
    fn lines_out_of_order_fail_the_chain() {
        let (expected, mut statement) = run();
        statement.swap(0, 1);
        let v = check(d(100_00), &expected, &statement);
        assert_eq!(v.found, 3);
        assert!(!v.ok(), "{v:?}");
    }

    #[test]
    fn scale_does_not_matter() {
        let expected = [Line {
            jenis: C,
            nominal: Decimal::new(5, 0),
            saldo: Decimal::new(5, 0),
        }];
        let statement = [line(C, 5_00, 5_00)];
        assert!(check(Decimal::ZERO, &expected, &statement).ok());
    }

    #[test]
    fn transfers_in_match_by_kind_and_amount() {
        // Start 100.00; a withdrawal of 10.00 answered 90.00; a transfer of 5.00 came in.
        let statement = vec![
            line(C, 5_00, 95_00),
            line(D, 10_00, 90_00),
            line(C, 100_00, 100_00),
        ];
        let expected = vec![line(D, 10_00, 90_00)];
        let credits = [(C, d(5_00))];
        assert!(check_with_credits(d(100_00), &expected, &credits, &statement).ok());
        let wrong_amount = [(C, d(5_01))];
        let v = check_with_credits(d(100_00), &expected, &wrong_amount, &statement);
        assert_eq!((v.found, v.ok()), (1, false));
        // Without the credit, the line is one this run did not post.
        let v = check(d(100_00), &expected, &statement);
        assert!(!v.ok());
    }

    #[test]
    fn nothing_posted_means_the_newest_line_is_the_start() {
        let statement = [line(C, 5_00, 5_00)];
        assert!(check(d(5_00), &[], &statement).ok());
        assert!(!check(d(6_00), &[], &statement).ok());
        assert!(check(Decimal::ZERO, &[], &[]).ok());
    }
}
