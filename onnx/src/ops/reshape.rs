//! Kinds that move values without computing: `Flatten` (axis 1), `Narrow` (`Slice` along the
//! first per-sample axis), and `Dropout` / `Dropout2d` (the identity at inference).

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int};

pub fn flatten(b: &mut Builder, s: &Site) -> Result<()> {
    b.node("Flatten", &[&s.inputs[0]], &s.output, vec![int("axis", 1)]);
    Ok(())
}

pub fn narrow(b: &mut Builder, s: &Site) -> Result<()> {
    let (start, length, dim) = (s.int("start")?, s.int("length")?, s.int("dim")?);
    let starts = b.constant_i64(&format!("{}/starts", s.output), &[start]);
    let ends = b.constant_i64(&format!("{}/ends", s.output), &[start + length]);
    let axes = b.constant_i64(&format!("{}/axes", s.output), &[dim]);
    b.node("Slice", &[&s.inputs[0], &starts, &ends, &axes], &s.output, vec![]);
    Ok(())
}

pub fn identity(b: &mut Builder, s: &Site) -> Result<()> {
    b.node("Identity", &[&s.inputs[0]], &s.output, vec![]);
    Ok(())
}
