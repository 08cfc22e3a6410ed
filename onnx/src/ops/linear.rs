//! `Linear`: `Gemm` (transB = 1) on a batch of vectors; on a sequence (`[batch, seq, in]`),
//! `MatMul` by the transposed weight and `Add` of the bias.

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int};

pub fn linear(b: &mut Builder, s: &Site) -> Result<()> {
    let w = s.param("weight");
    if s.ranks[0] == 2 {
        let w = b.weight(&w)?;
        let bias = if s.flag("bias", true) { Some(b.weight(&s.param("bias"))?) } else { None };
        let mut inputs = vec![s.inputs[0].as_str(), w.as_str()];
        inputs.extend(bias.as_deref());
        b.node("Gemm", &inputs, &s.output, vec![int("transB", 1)]);
        return Ok(());
    }
    let out = b.lookup(&w)?.dims[0];
    let wt = b.transposed_rows(&w, 0..out, &format!("{w}_transposed"))?;
    let bias = if s.flag("bias", true) { Some(b.weight(&s.param("bias"))?) } else { None };
    match bias {
        Some(bias) => {
            let y = b.step("MatMul", &[&s.inputs[0], &wt], &format!("{}/matmul", s.output), vec![]);
            b.node("Add", &[&y, &bias], &s.output, vec![]);
        }
        None => b.node("MatMul", &[&s.inputs[0], &wt], &s.output, vec![]),
    }
    Ok(())
}
