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
    /// The values the layer reads (`x, bn2`), for a graph model; empty for a chain, whose
    /// layers each read the one before (the column is then not printed).
    pub reads: String,
}

/// A model summary; `Display` prints the table.
///
/// ```
/// use shapeflow_core::summary::{Summary, SummaryRow};
/// let s = Summary { model: "Mlp".into(), input: "[batch, 4]".into(), rows: vec![
///     SummaryRow { name: "fc".into(), kind: "Linear<4, 2>".into(), output: "[batch, 2]".into(), params: 10, reads: String::new() }] };
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
        // A graph model's rows say what each layer reads (Keras's "Connected to").
        let graph = self.rows.iter().any(|r| !r.reads.is_empty());
        let mut head = vec!["Layer", "Kind", "Output shape", "Params"];
        if graph {
            head.push("Reads");
        }
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                let mut row =
                    vec![r.name.clone(), r.kind.clone(), r.output.clone(), grouped(r.params)];
                if graph {
                    row.push(r.reads.clone());
                }
                row
            })
            .collect();
        let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
        for row in &cells {
            for (i, c) in row.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let total_width = w.iter().sum::<usize>() + 3 * (w.len() - 1);
        let line = "─".repeat(total_width);
        let fmt_row = |f: &mut fmt::Formatter<'_>, row: &[&str]| -> fmt::Result {
            let mut text = String::new();
            for (i, c) in row.iter().enumerate() {
                let pad = w[i].saturating_sub(c.chars().count());
                if i > 0 {
                    text.push_str("   ");
                }
                // Params right-aligned, the rest left-aligned.
                if i == 3 {
                    text.push_str(&" ".repeat(pad));
                    text.push_str(c);
                } else {
                    text.push_str(c);
                    if i + 1 < row.len() {
                        text.push_str(&" ".repeat(pad));
                    }
                }
            }
            writeln!(f, "{text}")
        };
        writeln!(f, "Model: {} (input {})", self.model, self.input)?;
        writeln!(f, "{line}")?;
        fmt_row(f, &head)?;
        writeln!(f, "{line}")?;
        for r in &cells {
            let row: Vec<&str> = r.iter().map(String::as_str).collect();
            fmt_row(f, &row)?;
        }
        writeln!(f, "{line}")?;
        writeln!(f, "Total params: {}", grouped(self.total_params()))?;
        write!(f, "Trainable params: {}", grouped(self.total_params()))
    }
}
