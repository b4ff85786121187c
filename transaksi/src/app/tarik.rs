//! Withdrawal (`/tarik`): the rule.
//!
//! A withdrawal takes `nominal` from the balance only if the balance covers it
//! (`saldo >= nominal`); otherwise nothing at all is written and the answer is
//! "saldo tidak cukup". The rule runs on the balance row while the batch holds its lock
//! (`SELECT ... FOR UPDATE`, see [`super::batch`]), in arrival order, so concurrent withdrawals
//! can never overdraw: there is no read-then-write window, within a batch or across batches
//! and replicas. The column's `CHECK (saldo >= 0)` is the last line of defence.

use rust_decimal::Decimal;

use super::nominal::Nominal;

/// The balance after withdrawing `nominal` from `saldo`, or `None` when it does not cover it.
pub fn apply(saldo: Decimal, nominal: Nominal) -> Option<Decimal> {
    let nominal = nominal.value();
    (saldo >= nominal).then(|| saldo - nominal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_below_zero() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        let n = |s: &str| Nominal::new(d(s)).expect("a valid amount");
        assert_eq!(apply(d("10.00"), n("10.00")), Some(Decimal::ZERO));
        assert_eq!(apply(d("10.00"), n("3.50")), Some(d("6.50")));
        assert_eq!(apply(d("10.00"), n("10.01")), None);
        assert_eq!(apply(Decimal::ZERO, n("0.01")), None);
    }
}
