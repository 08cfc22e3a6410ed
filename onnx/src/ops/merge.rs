//! The merge kinds: `Add`, `Sub`, `Mul` (the ONNX ops of the same names) and `Concat` along the
//! first per-sample axis.

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int};

pub fn elementwise(b: &mut Builder, s: &Site) -> Result<()> {
    b.node(&s.node.op, &[&s.inputs[0], &s.inputs[1]], &s.output, vec![]);
    Ok(())
}

pub fn concat(b: &mut Builder, s: &Site) -> Result<()> {
    b.node("Concat", &[&s.inputs[0], &s.inputs[1]], &s.output, vec![int("axis", 1)]);
    Ok(())
}
