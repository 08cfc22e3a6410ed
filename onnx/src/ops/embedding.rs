//! `Embedding`: `Gather` of the table's rows by the `int64` token ids (`padding_idx`'s row is
//! zero in the table already).

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int};

pub fn embedding(b: &mut Builder, s: &Site) -> Result<()> {
    let w = b.weight(&s.param("weight"))?;
    b.node("Gather", &[&w, &s.inputs[0]], &s.output, vec![int("axis", 0)]);
    Ok(())
}
