//! A Keras-like model summary table: layer, kind, output shape, parameters, totals.

use std::fmt;

/// One row of a [`Summary`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Field name in the model (`fc1`).
    pub name: String,
    /// Layer kind as declared (`Linear<784, 512>`).
    pub kind: String,
    /// Output shape per the type, `batch` for the runtime dimension (`[batch, 512]`).
    pub output: String,
    /// Number of scalar parameters.
    pub params: usize,
}

/// A model summary; `Display` prints the table.
///
/// ```
/// use shapeflow_core::summary::{Summary, SummaryRow};
/// let s = Summary { model: "Mlp".into(), input: "[batch, 4]".into(), rows: vec![
///     SummaryRow { name: "fc".into(), kind: "Linear<4, 2>".into(), output: "[batch, 2]".into(), params: 10 }] };
/// assert!(s.to_string().contains("Total params: 10"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// Input shape.
    pub input: String,
    /// One row per layer.
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    /// Sum of the rows' parameters.
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
    }
}

/// `1234567` → `1,234,567`.
fn grouped(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = ["Layer", "Kind", "Output shape", "Params"];
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| [r.name.clone(), r.kind.clone(), r.output.clone(), grouped(r.params)])
            .collect();
        let mut w = head.map(|h| h.chars().count());
        for row in &cells {
            for (i, c) in row.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let total_width = w.iter().sum::<usize>() + 3 * 3;
        let line = "─".repeat(total_width);
        writeln!(f, "Model: {} (input {})", self.model, self.input)?;
        writeln!(f, "{line}")?;
        writeln!(
            f,
            "{:<a$}   {:<b$}   {:<c$}   {:>d$}",
            head[0],
            head[1],
            head[2],
            head[3],
            a = w[0],
            b = w[1],
            c = w[2],
            d = w[3]
        )?;
        writeln!(f, "{line}")?;
        for r in &cells {
            writeln!(
                f,
                "{:<a$}   {:<b$}   {:<c$}   {:>d$}",
                r[0],
                r[1],
                r[2],
                r[3],
                a = w[0],
                b = w[1],
                c = w[2],
                d = w[3]
            )?;
        }
        writeln!(f, "{line}")?;
        writeln!(f, "Total params: {}", grouped(self.total_params()))?;
        write!(f, "Trainable params: {}", grouped(self.total_params()))
    }
}
