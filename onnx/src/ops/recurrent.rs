//! `Lstm`, `Gru`, `Rnn`, `RnnRelu`: one ONNX `LSTM` / `GRU` / `RNN` node per layer over the
//! time-major sequence, with `sequence_lens` from the model's `lengths` (each sample run over its
//! own steps, the reverse direction from its own last step). PyTorch's gate blocks are reordered
//! to ONNX's (`i f g o` → `i o f c` for the LSTM, `r z n` → `z r h` for the GRU, which runs with
//! `linear_before_reset = 1` as PyTorch does), and `bias_ih`, `bias_hh` concatenated.

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int, ints, string, strings};
use crate::steps::Steps;

/// The ONNX op, the number of gate blocks, PyTorch's block for each ONNX block, and the extra
/// attributes of the kind.
fn cell(op: &str) -> (&'static str, usize, &'static [usize]) {
    match op {
        "Lstm" => ("LSTM", 4, &[0, 3, 1, 2]),
        "Gru" => ("GRU", 3, &[1, 0, 2]),
        _ => ("RNN", 1, &[0]),
    }
}

/// The rows of a `[gates·hidden, cols]` tensor with its gate blocks in `order`.
fn reorder(values: &[f32], hidden: usize, cols: usize, order: &[usize]) -> Vec<f32> {
    let block = hidden * cols;
    order.iter().flat_map(|&g| values[g * block..(g + 1) * block].iter().copied()).collect()
}

pub fn recurrent(b: &mut Builder, s: &Site) -> Result<()> {
    let (op, gates, order) = cell(&s.node.op);
    let (hidden, layers) = (s.int("hidden_size")? as usize, s.int("num_layers")? as usize);
    let bidirectional = s.flag("bidirectional", false);
    let suffixes: &[&str] = if bidirectional { &["", "_reverse"] } else { &[""] };
    let lens = Steps::of(b, s, 0)?.lengths_i32(b);
    let o = s.output.clone();
    // Batch-major [batch, seq, F] to time-major [seq, batch, F].
    let mut x = b.step(
        "Transpose",
        &[&s.inputs[0]],
        &format!("{o}/time_major"),
        vec![ints("perm", &[1, 0, 2])],
    );
    for l in 0..layers {
        let (mut w, mut r, mut bias) = (Vec::new(), Vec::new(), Vec::new());
        let mut input = 0;
        for suffix in suffixes {
            let name = |what: &str| s.param(&format!("{what}_l{l}{suffix}"));
            let wih = b.lookup(&name("weight_ih"))?;
            input = wih.dims[1];
            w.extend(reorder(&wih.values, hidden, input, order));
            let whh = b.lookup(&name("weight_hh"))?;
            r.extend(reorder(&whh.values, hidden, hidden, order));
            for what in ["bias_ih", "bias_hh"] {
                bias.extend(reorder(&b.lookup(&name(what))?.values, hidden, 1, order));
            }
        }
        let d = suffixes.len();
        let w = b.constant(&format!("{o}/W_l{l}"), &[d, gates * hidden, input], &w);
        let r = b.constant(&format!("{o}/R_l{l}"), &[d, gates * hidden, hidden], &r);
        let bias = b.constant(&format!("{o}/B_l{l}"), &[d, 2 * gates * hidden], &bias);
        let direction = if bidirectional { "bidirectional" } else { "forward" };
        let mut attrs = vec![int("hidden_size", hidden as i64), string("direction", direction)];
        match s.node.op.as_str() {
            "Gru" => attrs.push(int("linear_before_reset", 1)),
            "Rnn" => attrs.push(strings("activations", &vec!["Tanh"; d])),
            "RnnRelu" => attrs.push(strings("activations", &vec!["Relu"; d])),
            _ => {}
        }
        // Y: [seq, directions, batch, hidden] → [seq, batch, directions·hidden].
        let y = b.step(op, &[&x, &w, &r, &bias, &lens], &format!("{o}/layer{l}"), attrs);
        let y = b.step(
            "Transpose",
            &[&y],
            &format!("{o}/layer{l}_steps"),
            vec![ints("perm", &[0, 2, 1, 3])],
        );
        let shape = b.constant_i64(&format!("{o}/layer{l}_shape"), &[0, 0, -1]);
        x = b.step("Reshape", &[&y, &shape], &format!("{o}/layer{l}_out"), vec![]);
    }
    b.node("Transpose", &[&x], &o, vec![ints("perm", &[1, 0, 2])]);
    Ok(())
}
