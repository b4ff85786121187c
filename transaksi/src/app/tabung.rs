//! Deposit (`/tabung`): the rule.
//!
//! A deposit adds `nominal` to the balance unless the new balance would exceed the largest
//! balance an account may hold (18 integer digits, see [`super::nominal::max_saldo`]); then
//! nothing is written and the answer is 400. It is applied in memory to the locked balance, in
//! arrival order within a batch (see [`super::batch`]).

use rust_decimal::Decimal;

use super::nominal::{Nominal, max_saldo};

/// The balance after depositing `nominal` into `saldo`, or `None` when it would pass the
/// maximum.
pub fn apply(saldo: Decimal, nominal: Nominal) -> Option<Decimal> {
    saldo
        .checked_add(nominal.value())
        .filter(|after| *after <= max_saldo())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: Decimal) -> Nominal {
        Nominal::new(value).expect("a valid amount")
    }

    #[test]
    fn deposits_up_to_the_maximum() {
        let max = max_saldo();
        assert_eq!(apply(Decimal::ZERO, n(Decimal::ONE)), Some(Decimal::ONE));
        assert_eq!(apply(max - Decimal::ONE, n(Decimal::ONE)), Some(max));
        assert_eq!(apply(max, n(Decimal::new(1, 2))), None);
        assert_eq!(apply(max, n(max)), None);
    }
}
