//! sktime / UEA `.ts` files of multivariate series of any lengths (Japanese Vowels), plain or
//! gzipped, read into a dataset of sequences.

use std::path::Path;

use super::Dataset;
use super::idx::read_file;
use crate::error::{Error, Result};

/// A `.ts` file: its sequences (steps of `dimensions` values each) and class names.
#[derive(Clone, Debug)]
pub struct TsFile {
    /// One sequence per line of data, labelled by the index of its class in `classes`.
    pub data: Dataset,
    /// The class names of the `@classLabel` header, in its order (label `k` is `classes[k]`).
    pub classes: Vec<String>,
}

/// Reads a classification `.ts` file: `@dimensions d`, `@classLabel true c1 c2 …`, then after
/// `@data` one sequence per line, `d` comma-separated series of one length separated by `:`,
/// then `:label`. Without `@dimensions` (sktime's univariate files say `@univariate true`
/// instead) a file has one series per line, or as many as its first row holds. Every malformed
/// line is an `Err` naming the file and line.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("sf-ts-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let p = dir.join("a.ts");
/// std::fs::write(&p, "@dimensions 2\n@classLabel true x y\n@data\n1,2,3:4,5,6:y\n7:8:x\n").unwrap();
/// let ts = shapeflow_core::data::read_ts(&p).unwrap();
/// assert_eq!((ts.data.len(), ts.data.steps(0), ts.data.labels()), (2, 3, &[1, 0][..]));
/// assert_eq!(ts.data.sample(0), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // step-major
/// std::fs::write(&p, "@dimensions 2\n@classLabel true x y\n@data\n1,2:4:y\n").unwrap();
/// assert!(shapeflow_core::data::read_ts(&p).unwrap_err().to_string().contains("line 4"));
/// std::fs::write(&p, "@univariate true\n@classLabel true a b\n@data\n1,2,3:b\n4,5:a\n").unwrap();
/// let uni = shapeflow_core::data::read_ts(&p).unwrap();
/// assert_eq!((uni.data.features(), uni.data.steps(0), uni.data.steps(1)), (1, 3, 2));
/// std::fs::write(&p, "@dimensions 2\n@classLabel true x y\n@data\n").unwrap();
/// assert!(shapeflow_core::data::read_ts(&p).unwrap_err().to_string().contains("no rows after `@data`"));
/// ```
pub fn read_ts(path: impl AsRef<Path>) -> Result<TsFile> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let fail = |line: usize, message: String| Error::Format {
        path: path.display().to_string(),
        message: format!("line {line}: {message}"),
    };
    let text = String::from_utf8(bytes).map_err(|e| fail(0, format!("not UTF-8 text ({e})")))?;
    let (mut dims, mut classes, mut in_data) = (None::<usize>, Vec::<String>::new(), false);
    let mut univariate = false;
    let (mut seqs, mut labels) = (Vec::new(), Vec::new());
    for (k, raw) in text.lines().enumerate() {
        let (no, line) = (k + 1, raw.trim());
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !in_data {
            let mut words = line.split_whitespace();
            match words.next().map(str::to_ascii_lowercase).as_deref() {
                Some("@dimensions") => {
                    let d = words.next().and_then(|w| w.parse().ok()).filter(|&d: &usize| d > 0);
                    dims = Some(d.ok_or_else(|| {
                        fail(no, "`@dimensions` needs a positive integer".into())
                    })?);
                }
                Some("@classlabel") => {
                    if words.next() != Some("true") {
                        return Err(fail(
                            no,
                            "only classification files (`@classLabel true …`) are supported".into(),
                        ));
                    }
                    classes = words.map(str::to_string).collect();
                }
                // sktime's univariate files say `@univariate true` and omit `@dimensions`.
                Some("@univariate") => univariate = words.next() == Some("true"),
                Some("@data") => in_data = true,
                _ => {}
            }
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        // Without `@dimensions`: one series for a univariate file, else as many as the first row
        // holds (every later row must agree).
        let d =
            *dims.get_or_insert(if univariate { 1 } else { parts.len().saturating_sub(1).max(1) });
        if parts.len() != d + 1 {
            return Err(fail(
                no,
                format!(
                    "expected {d} series and a label separated by `:`, found {} fields",
                    parts.len()
                ),
            ));
        }
        let label = parts[d].trim();
        let class = classes.iter().position(|c| c == label).ok_or_else(|| {
            fail(no, format!("class `{label}` is not one of @classLabel ({})", classes.join(" ")))
        })?;
        let mut series: Vec<Vec<f32>> = Vec::with_capacity(d);
        for (j, s) in parts[..d].iter().enumerate() {
            let vals: std::result::Result<Vec<f32>, _> =
                s.split(',').map(|v| v.trim().parse::<f32>()).collect();
            let vals = vals.map_err(|e| fail(no, format!("series {}: {e}", j + 1)))?;
            if let Some(bad) = vals.iter().position(|v| !v.is_finite()) {
                return Err(fail(no, format!("series {}: value {} is not finite", j + 1, bad + 1)));
            }
            series.push(vals);
        }
        let steps = series[0].len();
        if let Some(j) = series.iter().position(|s| s.len() != steps) {
            return Err(fail(
                no,
                format!("series {} has {} values but series 1 has {steps}", j + 1, series[j].len()),
            ));
        }
        seqs.push((0..steps).flat_map(|t| series.iter().map(move |s| s[t])).collect::<Vec<f32>>());
        labels.push(class);
    }
    if seqs.is_empty() {
        return Err(Error::Format {
            path: path.display().to_string(),
            message: "no rows after `@data`: the file holds no sequences".into(),
        });
    }
    let d = dims.unwrap_or(1);
    Ok(TsFile { data: Dataset::sequences(seqs, labels, d)?, classes })
}
