//! Each optimizer's configuration checked as PyTorch checks it (its `ValueError`s), by the
//! configuration's `check` and before every step, so that a learning rate set to a negative or
//! non-finite value later (`set_lr`, a schedule) is refused too.

use crate::error::{Error, Result};

/// An `Err` naming `optimizer`'s `field` unless `value` is finite and at least 0.
pub(crate) fn at_least_zero(optimizer: &str, field: &str, value: f64) -> Result<()> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{optimizer}: `{field}` must be finite and at least 0, not {value}"
        )))
    }
}

/// An `Err` naming `optimizer`'s `field` unless `0 ≤ value < 1`.
pub(crate) fn below_one(optimizer: &str, field: &str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "{optimizer}: `{field}` must be at least 0 and below 1, not {value}"
        )))
    }
}
