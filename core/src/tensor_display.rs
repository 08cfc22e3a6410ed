//! `Display` for tensors in PyTorch's layout: nested brackets, four decimals (or the formatter's
//! precision, `{:.2}`), and `...` past three leading and trailing entries of each axis once a
//! tensor holds more than 1000 values.

use std::fmt;

use crate::backend::{Backend, Elem};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// Above this many values, each axis shows its first and last [`EDGE`] entries.
const SUMMARIZE_ABOVE: usize = 1000;
const EDGE: usize = 3;

/// ```
/// use shapeflow_core::{Const, Dyn, Tensor};
/// use shapeflow_cpu::Cpu;
/// let t = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&Cpu::default(), 2, vec![1.0, 2.5, -3.0, 4.0]).unwrap();
/// assert_eq!(t.to_string(), "tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]])");
/// assert_eq!(format!("{t:.1}"), "tensor([[ 1.0,  2.5],\n        [-3.0,  4.0]])");
/// let big = Tensor::<(Dyn, Const<2000>), Cpu>::zeros(&Cpu::default(), &[1, 2000]).unwrap();
/// assert!(big.to_string().contains("0.0000, ..., 0.0000"));
/// ```
impl<S: Shape, B: Backend> fmt::Display for Tensor<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<f64> = self.to_vec().into_iter().map(Elem::as_f64).collect();
        let precision = f.precision().unwrap_or(4);
        let summarize = values.len() > SUMMARIZE_ABOVE;
        let cells: Vec<String> = values.iter().map(|v| format!("{v:.precision$}")).collect();
        let width = cells.iter().map(|c| c.len()).max().unwrap_or(0);
        let mut out = String::from("tensor(");
        write_axis(&mut out, &cells, self.dims(), width, summarize, 7);
        out.push(')');
        f.write_str(&out)
    }
}

/// Writes the values of one (sub)tensor of sizes `dims`; `indent` is the column of its `[`.
fn write_axis(
    out: &mut String,
    cells: &[String],
    dims: &[usize],
    width: usize,
    summarize: bool,
    indent: usize,
) {
    let Some((&n, rest)) = dims.split_first() else {
        out.push_str(&format!("{:>width$}", cells.first().map_or("", String::as_str)));
        return;
    };
    let stride: usize = rest.iter().product();
    let shown: Vec<Option<usize>> = if summarize && n > 2 * EDGE {
        (0..EDGE).map(Some).chain([None]).chain((n - EDGE..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    };
    out.push('[');
    for (k, item) in shown.iter().enumerate() {
        if k > 0 {
            out.push(',');
            if rest.is_empty() {
                out.push(' ');
            } else {
                out.push_str(&"\n".repeat(rest.len()));
                out.push_str(&" ".repeat(indent + 1));
            }
        }
        match item {
            Some(i) => {
                let part = &cells[i * stride..(i + 1) * stride];
                write_axis(out, part, rest, width, summarize, indent + 1);
            }
            None => out.push_str("..."),
        }
    }
    out.push(']');
}
