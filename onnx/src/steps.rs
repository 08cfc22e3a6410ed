//! What the sequence lowerings share: the model's `lengths` input, the number of steps, the
//! step positions and the valid-step mask, each computed once per model.

use shapeflow_core::{Error, Result};

use crate::builder::{Builder, int};
use crate::proto::{FLOAT, INT32};

impl Builder {
    /// A value computed once: `make` runs the first time `key` is asked for.
    fn once(
        &mut self,
        key: &'static str,
        make: impl FnOnce(&mut Self) -> Result<String>,
    ) -> Result<String> {
        if let Some(v) = self.cached.get(key) {
            return Ok(v.clone());
        }
        let v = make(self)?;
        self.cached.insert(key, v.clone());
        Ok(v)
    }

    /// The sequence input and the `lengths` input (`int64 [batch]`); an `Err` naming `node`
    /// when the model has no sequence input.
    fn sequence(&self, node: &str) -> Result<(String, String)> {
        self.seq.clone().ok_or_else(|| {
            Error::Config(format!("ONNX export: node `{node}` needs sequence lengths, and the model has no `seq` input"))
        })
    }

    /// Each sample's number of valid steps, `int64 [batch]`.
    pub fn lengths(&mut self, node: &str) -> Result<String> {
        Ok(self.sequence(node)?.1)
    }

    /// The lengths as `int32 [batch]` (the recurrent ops' `sequence_lens`).
    pub fn lengths_i32(&mut self, node: &str) -> Result<String> {
        let lengths = self.lengths(node)?;
        self.once("lengths_i32", |b| {
            Ok(b.step("Cast", &[&lengths], "lengths_i32", vec![int("to", INT32 as i64)]))
        })
    }

    /// The lengths as `float [batch, 1]` (the divisor of a mean over steps).
    pub fn lengths_f32(&mut self, node: &str) -> Result<String> {
        let lengths = self.lengths(node)?;
        self.once("lengths_f32", |b| {
            let f = b.step("Cast", &[&lengths], "lengths_f32", vec![int("to", FLOAT as i64)]);
            let axis = b.constant_i64("axis1", &[1]);
            Ok(b.step("Unsqueeze", &[&f, &axis], "lengths_f32_column", vec![]))
        })
    }

    /// The number of steps of the batch, an `int64` scalar.
    pub fn step_count(&mut self, node: &str) -> Result<String> {
        let (input, _) = self.sequence(node)?;
        self.once("steps", |b| {
            let shape = b.step("Shape", &[&input], "input_shape", vec![]);
            let one = b.scalar_i64("index1", 1);
            Ok(b.step("Gather", &[&shape, &one], "steps", vec![int("axis", 0)]))
        })
    }

    /// The step positions `0..steps`, `int64 [seq]`.
    pub fn positions(&mut self, node: &str) -> Result<String> {
        let steps = self.step_count(node)?;
        self.once("positions", |b| {
            let (zero, one) = (b.scalar_i64("zero", 0), b.scalar_i64("one", 1));
            Ok(b.step("Range", &[&zero, &steps, &one], "positions", vec![]))
        })
    }

    /// Whether each step is valid (`t < length`), `bool [batch, seq]`.
    pub fn valid_steps(&mut self, node: &str) -> Result<String> {
        let (positions, lengths) = (self.positions(node)?, self.lengths(node)?);
        self.once("valid", |b| {
            let (axis0, axis1) = (b.constant_i64("axis0", &[0]), b.constant_i64("axis1", &[1]));
            let row = b.step("Unsqueeze", &[&positions, &axis0], "positions_row", vec![]);
            let column = b.step("Unsqueeze", &[&lengths, &axis1], "lengths_column", vec![]);
            Ok(b.step("Less", &[&row, &column], "valid_steps", vec![]))
        })
    }
}
