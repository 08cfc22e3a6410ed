//! CSV files as datasets: one sample per row, numeric feature columns and a label (a class
//! number) or a regression target column; a header row by default; gzip accepted. Every bad
//! cell is an error naming the file, the line and the column.

use std::path::Path;

use crate::error::{Error, Result};

use super::Dataset;

/// A column, by header name or by position from 0.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// The column with this header (needs `header: true`).
    Name(String),
    /// The column at this position (0 = first).
    Index(usize),
    /// The last column.
    Last,
}

/// What the label column holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// Class numbers `0, 1, …` (a classification dataset).
    Class(Column),
    /// A float target (a regression dataset with one target per sample).
    Value(Column),
}

/// How [`read_csv`] reads a file.
///
/// ```
/// use shapeflow_core::data::{Column, CsvOptions, Target};
/// let opts = CsvOptions { target: Target::Class(Column::Name("species".into())), ..Default::default() };
/// assert!(opts.header);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    /// Whether the first row names the columns (default `true`).
    pub header: bool,
    /// The field separator (default `b','`).
    pub delimiter: u8,
    /// The label or target column (default: class numbers in the last column); every other
    /// column is a feature.
    pub target: Target,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { header: true, delimiter: b',', target: Target::Class(Column::Last) }
    }
}

/// Reads a CSV file (plain or gzipped) into a [`Dataset`]: the features are every column but
/// the target. A ragged row, a cell that is not a finite number, a class that is not a
/// non-negative integer, an unknown column name or an empty file is an `Err` naming the line
/// (from 1, the header included) and the column.
///
/// ```
/// use shapeflow_core::data::{read_csv, CsvOptions};
/// let path = std::env::temp_dir().join("shapeflow-doc-iris.csv");
/// std::fs::write(&path, "sepal,petal,class\n5.1,1.4,0\n6.3,6.0,2\n").unwrap();
/// let ds = read_csv(&path, &CsvOptions::default()).unwrap();
/// assert_eq!((ds.len(), ds.features(), ds.labels()), (2, 2, &[0, 2][..]));
/// ```
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let fmt = |message: String| Error::Format { path: file.clone(), message };
    let bytes = super::idx::read_file(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(options.header)
        .delimiter(options.delimiter)
        .flexible(true)
        .from_reader(&bytes[..]);
    let names: Vec<String> = if options.header {
        let h = reader.headers().map_err(|e| fmt(format!("line 1: {e}")))?;
        h.iter().map(|s| s.trim().to_string()).collect()
    } else {
        Vec::new()
    };
    let mut rows = reader.records();
    let first_line = if options.header { 2 } else { 1 };
    let first = match rows.next() {
        Some(r) => r.map_err(|e| fmt(format!("line {first_line}: {e}")))?,
        None => return Err(fmt("no data rows".into())),
    };
    let width = if options.header { names.len() } else { first.len() };
    let column = match &options.target {
        Target::Class(c) | Target::Value(c) => c,
    };
    let target = resolve(column, &names, width).map_err(fmt)?;
    let label_of = |k: usize| match names.get(k) {
        Some(n) if !n.is_empty() => format!("column {} (`{n}`)", k + 1),
        _ => format!("column {}", k + 1),
    };
    let (mut inputs, mut labels, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, record) in std::iter::once(Ok(first)).chain(rows).enumerate() {
        // the line a text editor shows: the csv reader's count, which sees blank lines and
        // newlines inside quoted fields
        let record = record.map_err(|e| {
            let line = e.position().map_or(first_line + i, |p| p.line() as usize);
            fmt(format!("line {line}: {e}"))
        })?;
        let line = record.position().map_or(first_line + i, |p| p.line() as usize);
        if record.len() != width {
            let what = if options.header { "the header has" } else { "the first row has" };
            return Err(fmt(format!("line {line} has {} fields but {what} {width}", record.len())));
        }
        for (k, cell) in record.iter().enumerate() {
            let cell = cell.trim();
            let shown = quoted(cell);
            if k == target {
                match &options.target {
                    Target::Class(_) => labels.push(cell.parse::<usize>().map_err(|_| {
                        fmt(format!(
                            "line {line}, {}: the class {shown} is not a non-negative integer",
                            label_of(k)
                        ))
                    })?),
                    Target::Value(_) => values.push(number(cell).ok_or_else(|| {
                        fmt(format!("line {line}, {}: {shown} is not a finite number", label_of(k)))
                    })?),
                }
                continue;
            }
            inputs.push(number(cell).ok_or_else(|| {
                fmt(format!("line {line}, {}: {shown} is not a finite number", label_of(k)))
            })?);
        }
    }
    match options.target {
        Target::Class(_) => Dataset::new(inputs, labels, width - 1),
        Target::Value(_) => Dataset::regression(inputs, values, width - 1, 1),
    }
}

/// A cell as an error quotes it: in backticks, cut to its first 60 characters (with its length)
/// when longer, so a huge field does not become a huge message.
fn quoted(cell: &str) -> String {
    let chars = cell.chars().count();
    if chars <= 80 {
        format!("`{cell}`")
    } else {
        let head: String = cell.chars().take(60).collect();
        format!("`{head}…` ({chars} characters)")
    }
}

/// A finite `f32`.
fn number(cell: &str) -> Option<f32> {
    cell.parse::<f32>().ok().filter(|v| v.is_finite())
}

/// The position of `column` among `width` columns named `names`.
fn resolve(column: &Column, names: &[String], width: usize) -> std::result::Result<usize, String> {
    if width < 2 {
        return Err(format!("{width} column(s): a dataset needs at least one feature and a label"));
    }
    match column {
        Column::Last => Ok(width - 1),
        Column::Index(i) if *i < width => Ok(*i),
        Column::Index(i) => Err(format!("column {i} (from 0) is past the last of {width} columns")),
        Column::Name(n) => names.iter().position(|h| h == n).ok_or_else(|| {
            if names.is_empty() {
                format!("column `{n}` named, but the file is read without a header")
            } else {
                format!(
                    "no column `{n}`; the header has {}",
                    names.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
                )
            }
        }),
    }
}
