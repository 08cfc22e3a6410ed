//! What the sequence lowerings share, per sequence input of the model: its `lengths` input,
//! the number of steps, the step positions and the valid-step mask, each computed once.

use shapeflow_core::{Error, Result};

use crate::builder::{Builder, int};
use crate::ops::Site;
use crate::proto::{FLOAT, INT32};

/// The sequence input whose steps input `k` of a node has.
pub struct Steps {
    input: String,
    lengths: String,
}

impl Steps {
    /// The steps of input `k` of `s`; an `Err` naming the node when it is not a sequence.
    pub fn of(b: &Builder, s: &Site, k: usize) -> Result<Steps> {
        let found = s.inputs.get(k).and_then(|v| b.origin.get(v)).and_then(|input| {
            b.lengths.get(input).map(|l| Steps { input: input.clone(), lengths: l.clone() })
        });
        found.ok_or_else(|| {
            Error::Config(format!(
                "ONNX export: node `{}{}` needs sequence lengths, and its input is not a sequence",
                s.prefix, s.node.name
            ))
        })
    }

    /// A value computed once for this sequence input: `make` runs the first time.
    fn once(
        &self,
        b: &mut Builder,
        key: &'static str,
        make: impl FnOnce(&mut Builder) -> String,
    ) -> String {
        let k = (key, self.input.clone());
        if let Some(v) = b.cached.get(&k) {
            return v.clone();
        }
        let v = make(b);
        b.cached.insert(k, v.clone());
        v
    }

    /// Each sample's number of valid steps, `int64 [batch]`.
    pub fn lengths(&self) -> String {
        self.lengths.clone()
    }

    /// The lengths as `int32 [batch]` (the recurrent ops' `sequence_lens`).
    pub fn lengths_i32(&self, b: &mut Builder) -> String {
        let l = self.lengths.clone();
        self.once(b, "lengths_i32", |b| {
            b.step("Cast", &[&l], &format!("{l}_i32"), vec![int("to", INT32 as i64)])
        })
    }

    /// The lengths as `float [batch, 1]` (the divisor of a mean over steps).
    pub fn lengths_f32(&self, b: &mut Builder) -> String {
        let l = self.lengths.clone();
        self.once(b, "lengths_f32", |b| {
            let f = b.step("Cast", &[&l], &format!("{l}_f32"), vec![int("to", FLOAT as i64)]);
            let axis = b.constant_i64("axis1", &[1]);
            b.step("Unsqueeze", &[&f, &axis], &format!("{l}_f32_column"), vec![])
        })
    }

    /// The number of steps of the batch, an `int64` scalar.
    pub fn count(&self, b: &mut Builder) -> String {
        let input = self.input.clone();
        self.once(b, "steps", |b| {
            let shape = b.step("Shape", &[&input], &format!("{input}_shape"), vec![]);
            let one = b.scalar_i64("index1", 1);
            b.step("Gather", &[&shape, &one], &format!("{input}_steps"), vec![int("axis", 0)])
        })
    }

    /// The step positions `0..steps`, `int64 [seq]`.
    pub fn positions(&self, b: &mut Builder) -> String {
        let (steps, input) = (self.count(b), self.input.clone());
        self.once(b, "positions", |b| {
            let (zero, one) = (b.scalar_i64("zero", 0), b.scalar_i64("one", 1));
            b.step("Range", &[&zero, &steps, &one], &format!("{input}_positions"), vec![])
        })
    }

    /// Whether each step is valid (`t < length`), `bool [batch, seq]`.
    pub fn valid(&self, b: &mut Builder) -> String {
        let (positions, lengths, input) = (self.positions(b), self.lengths(), self.input.clone());
        self.once(b, "valid", |b| {
            let (axis0, axis1) = (b.constant_i64("axis0", &[0]), b.constant_i64("axis1", &[1]));
            let row = b.step("Unsqueeze", &[&positions, &axis0], "positions_row", vec![]);
            let column = b.step("Unsqueeze", &[&lengths, &axis1], "lengths_column", vec![]);
            b.step("Less", &[&row, &column], &format!("{input}_valid_steps"), vec![])
        })
    }
}
