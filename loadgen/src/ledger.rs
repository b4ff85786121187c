//! What the client saw, per account, and the money check: each account's balance at the end
//! must be its start balance plus the deposits minus the withdrawals that were answered 200,
//! minus what its transfers out cost it (amount and fee, as answered), plus its transfers in.

use rust_decimal::Decimal;

use crate::ops::Jenis;

/// One account's side of an operation answered 200: a deposit or withdrawal with the balance
/// the answer gave; a transfer's source (`Tarik`, amount + fee, the answered balance) or its
/// destination (`Tabung`, the amount, a balance the client never sees: `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posted {
    /// Index into the run's account list.
    pub account: u32,
    pub jenis: Jenis,
    pub nominal: Decimal,
    /// The balance right after the operation, as answered.
    pub saldo: Option<Decimal>,
}

/// Everything the client saw happen to the accounts, gathered from all tasks.
#[derive(Debug, Default)]
pub struct Ledger {
    pub posted: Vec<Posted>,
    /// Accounts with at least one operation whose outcome is unknown (one entry per
    /// operation).
    pub unknown: Vec<u32>,
}

impl Ledger {
    pub fn absorb(&mut self, other: Ledger) {
        self.posted.extend(other.posted);
        self.unknown.extend(other.unknown);
    }
}

/// Per account: start balance plus the signed amounts of its posted operations.
pub fn expected_balances(start: &[Decimal], posted: &[Posted]) -> Vec<Decimal> {
    let mut expected = start.to_vec();
    for p in posted {
        if let Some(balance) = expected.get_mut(p.account as usize) {
            *balance += p.jenis.signed(p.nominal);
        }
    }
    expected
}

/// One account whose end balance is not what the client saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub account: u32,
    pub expected: Decimal,
    pub actual: Decimal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoneyCheck {
    pub expected_total: Decimal,
    pub actual_total: Decimal,
    /// Accounts (without an unknown outcome) whose end balance differs.
    pub mismatches: Vec<Mismatch>,
    /// Accounts with an operation of unknown outcome: their expected balance is not known.
    pub inconclusive_accounts: usize,
    /// Operations posted to an account index outside the list (a bug in the tool).
    pub stray_operations: usize,
}

impl MoneyCheck {
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
            && self.inconclusive_accounts == 0
            && self.stray_operations == 0
            && self.expected_total == self.actual_total
    }
}

/// Compares the end balances with start + what was posted. `start` and `end` are indexed by
/// account.
pub fn money_check(
    start: &[Decimal],
    end: &[Decimal],
    posted: &[Posted],
    unknown: &[u32],
) -> MoneyCheck {
    assert_eq!(
        start.len(),
        end.len(),
        "one start and one end balance per account"
    );
    let expected = expected_balances(start, posted);
    let mut inconclusive = vec![false; start.len()];
    for &account in unknown {
        if let Some(flag) = inconclusive.get_mut(account as usize) {
            *flag = true;
        }
    }
    let mismatches = expected
        .iter()
        .zip(end)
        .enumerate()
        .filter(|(i, (e, a))| e != a && !inconclusive[*i])
        .map(|(i, (e, a))| Mismatch {
            account: i as u32,
            expected: *e,
            actual: *a,
        })
        .collect();
    MoneyCheck {
        expected_total: expected.iter().sum(),
        actual_total: end.iter().sum(),
        mismatches,
        inconclusive_accounts: inconclusive.iter().filter(|f| **f).count(),
        stray_operations: posted
            .iter()
            .filter(|p| p.account as usize >= start.len())
            .count()
            + unknown
                .iter()
                .filter(|a| **a as usize >= start.len())
                .count(),
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

    fn posted(account: u32, jenis: Jenis, cents: i64) -> Posted {
        Posted {
            account,
            jenis,
            nominal: d(cents),
            saldo: Some(Decimal::ZERO),
        }
    }

    #[test]
    fn deposits_add_and_withdrawals_subtract() {
        let start = [d(100_00), d(0), d(5)];
        let ops = [
            posted(0, Jenis::Tabung, 10_50),
            posted(0, Jenis::Tarik, 20_25),
            posted(1, Jenis::Tabung, 1),
            posted(1, Jenis::Tabung, 1),
        ];
        assert_eq!(expected_balances(&start, &ops), vec![d(90_25), d(2), d(5)]);
    }

    #[test]
    fn exact_match_passes() {
        let start = [d(100_00), d(0)];
        let ops = [posted(0, Jenis::Tarik, 1), posted(1, Jenis::Tabung, 99)];
        let check = money_check(&start, &[d(99_99), d(99)], &ops, &[]);
        assert!(check.ok(), "{check:?}");
        assert_eq!(check.expected_total, d(100_98));
        assert_eq!(check.actual_total, d(100_98));
    }

    #[test]
    fn one_cent_off_fails_and_names_the_account() {
        let start = [d(100_00), d(0)];
        let ops = [posted(0, Jenis::Tarik, 1), posted(1, Jenis::Tabung, 99)];
        let check = money_check(&start, &[d(99_99), d(98)], &ops, &[]);
        assert!(!check.ok());
        assert_eq!(
            check.mismatches,
            vec![Mismatch {
                account: 1,
                expected: d(99),
                actual: d(98)
            }]
        );
        assert_eq!(check.actual_total, d(100_97));
    }

    #[test]
    fn compensating_errors_still_fail() {
        // Totals agree but two accounts are each wrong.
        let start = [d(10), d(10)];
        let check = money_check(&start, &[d(11), d(9)], &[], &[]);
        assert_eq!(check.expected_total, check.actual_total);
        assert_eq!(check.mismatches.len(), 2);
        assert!(!check.ok());
    }

    #[test]
    fn an_unknown_outcome_makes_the_check_inconclusive() {
        let start = [d(10), d(10)];
        let check = money_check(&start, &[d(10), d(15)], &[], &[1, 1]);
        assert!(check.mismatches.is_empty());
        assert_eq!(check.inconclusive_accounts, 1);
        assert!(!check.ok());
    }
}
