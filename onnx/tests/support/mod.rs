//! Runs exported models in ONNX Runtime (through `run_onnx.py`) and compares their outputs with
//! shapeflow's. Without Python's `onnx` and `onnxruntime` the checks skip with a printed reason,
//! unless `SHAPEFLOW_REQUIRE_ONNX=1` (set by `.ci/run`), where that is a failure.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use shapeflow::graph::Described;
use shapeflow::prelude::*;

/// The interpreter, with the repository's `.ci-venv/onnx` on its path when that exists.
fn python() -> Command {
    let exe = std::env::var("SHAPEFLOW_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut cmd = Command::new(exe);
    let venv = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci-venv/onnx"));
    if venv.exists() {
        let path = match std::env::var("PYTHONPATH") {
            Ok(p) if !p.is_empty() => format!("{}:{p}", venv.display()),
            _ => venv.display().to_string(),
        };
        cmd.env("PYTHONPATH", path);
    }
    cmd
}

/// Whether ONNX Runtime can be used; `false` (after printing why) when it cannot and it is
/// not required.
pub fn onnx_runtime_available() -> bool {
    let out = python().args(["-c", "import onnx, onnxruntime"]).output();
    let why = match out {
        Ok(o) if o.status.success() => return true,
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => format!("no Python interpreter: {e}"),
    };
    if std::env::var("SHAPEFLOW_REQUIRE_ONNX").is_ok_and(|v| v == "1") {
        panic!("SHAPEFLOW_REQUIRE_ONNX=1 but onnx/onnxruntime cannot be imported: {why}");
    }
    let last = why.lines().last().unwrap_or_default();
    shapeflow::skip_test(format!(
        "onnx and onnxruntime are not importable ({last}); .ci/run installs them"
    ));
    false
}

/// Deterministic inputs in [-1, 1).
pub fn inputs(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 7919 + seed * 104_729) % 2000) as f32) / 1000.0 - 1.0).collect()
}

/// Runs the ONNX file at `path` on `inputs` (name, sizes, values, dtype) in ONNX Runtime: the
/// checker's verdict must be ok; returns the first output's sizes and values.
pub fn run_onnx(
    path: &std::path::Path,
    inputs: &[(&str, Vec<usize>, Vec<f64>, &str)],
) -> (Vec<usize>, Vec<f64>) {
    let dir = path.parent().unwrap();
    let req = dir.join(format!("{}-request.json", path.file_stem().unwrap().to_string_lossy()));
    let feeds: serde_json::Map<String, Value> = inputs
        .iter()
        .map(|(name, dims, data, dtype)| {
            (name.to_string(), json!({ "shape": dims, "data": data, "dtype": dtype }))
        })
        .collect();
    std::fs::write(&req, json!({ "model": path, "inputs": feeds }).to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/run_onnx.py");
    let out = python().arg(script).arg(&req).output().expect("python runs");
    assert!(
        out.status.success(),
        "ONNX Runtime or the checker failed on {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["checker"], "ok");
    assert_eq!(v["opset"], 17);
    let o = &v["outputs"][0];
    let shape =
        o["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data = o["data"].as_array().unwrap().iter().map(|d| d.as_f64().unwrap()).collect();
    (shape, data)
}

/// Checks `got` (ONNX Runtime's) against `want` (shapeflow's) within 1e-5 relative, magnitudes
/// below 1 counted as 1, skipping the positions `skip` names.
pub fn compare(name: &str, batch: usize, want: &[f32], got: &[f64], skip: impl Fn(usize) -> bool) {
    assert_eq!(want.len(), got.len(), "{name}: output sizes at batch {batch}");
    for (i, (&w, &g)) in want.iter().zip(got).enumerate() {
        if skip(i) {
            continue;
        }
        let err = (w as f64 - g).abs();
        assert!(
            err <= 1e-5 * (w as f64).abs().max(1.0),
            "{name}, batch {batch}, output {i}: shapeflow {w}, ONNX Runtime {g}"
        );
    }
}

/// Exports a sequence model, runs it in ONNX Runtime on ragged batches (lengths 4, and 5 2 7 1 3)
/// with their `lengths`, and compares every output at a valid step with shapeflow's. Token-id
/// models (`input: [seq]`) get ids below `vocab`; others `features` values per step.
pub fn check_sequence_model<M, S>(name: &str, model: &M, features: usize, vocab: Option<usize>)
where
    M: Layer<S, Cpu> + Described + Module<Cpu>,
    S: Shape,
{
    let dev = Cpu::default();
    let path = scratch(name).join(format!("{name}.onnx"));
    shapeflow::onnx::export(model, &path).unwrap();
    if !onnx_runtime_available() {
        return;
    }
    for lengths in [vec![4usize], vec![5, 2, 7, 1, 3]] {
        let batch = lengths.len();
        let per = vocab.map_or(features, |_| 1);
        let samples: Vec<Vec<f32>> = lengths
            .iter()
            .enumerate()
            .map(|(b, &len)| match vocab {
                Some(v) => (0..len).map(|t| ((b * 31 + t * 17) % v) as f32).collect(),
                None => inputs(len * per, b + 3 * len),
            })
            .collect();
        let x = Tensor::<S, Cpu>::from_sequences(&dev, &samples).unwrap();
        let steps = *lengths.iter().max().unwrap();
        let padded: Vec<f64> = samples
            .iter()
            .flat_map(|s| {
                let mut row: Vec<f64> = s.iter().map(|&v| v as f64).collect();
                row.resize(steps * per, 0.0);
                row
            })
            .collect();
        let dims = if vocab.is_some() { vec![batch, steps] } else { vec![batch, steps, per] };
        let dtype = if vocab.is_some() { "int64" } else { "float32" };
        let lens: Vec<f64> = lengths.iter().map(|&l| l as f64).collect();
        let graph = model.graph();
        let feeds = [
            (graph.inputs[0].name.as_str(), dims, padded, dtype),
            ("lengths", vec![batch], lens, "int64"),
        ];
        let (shape, got) = run_onnx(&path, &feeds);
        let y = model.forward(&x);
        assert_eq!(shape, y.dims(), "{name}: output sizes at batch {batch}");
        // A per-step output: compare the valid steps only (padding is unspecified in ONNX).
        let per_step = y.dims().len() == 3;
        let width = y.dims().last().copied().unwrap_or(1);
        compare(name, batch, &y.to_vec(), &got, |i| {
            per_step && (i / width) % steps >= lengths[i / width / steps]
        });
    }
}

/// A scratch folder for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("shapeflow-onnx-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Exports `model`, runs it in ONNX Runtime at batch sizes 1 and 5, and checks that every output
/// matches shapeflow's within 1e-5 relative (magnitudes below 1 counted as 1). A few training
/// passes first give batch norms running statistics that are not the identity.
pub fn check_model<M, S>(name: &str, model: &mut M)
where
    M: Layer<S, Cpu> + Described + Module<Cpu>,
    S: Shape,
{
    let dev = Cpu::default();
    for k in 0..3 {
        let dims = S::dims_for_batch(8).unwrap();
        let x = Tensor::<S, Cpu>::from_vec(&dev, dims.as_slice(), inputs(dims.numel(), 10 + k));
        let _ = model.forward_train(&x.unwrap());
    }
    let path = scratch(name).join(format!("{name}.onnx"));
    shapeflow::onnx::export(model, &path).unwrap();
    if !onnx_runtime_available() {
        return;
    }
    let graph = model.graph();
    for batch in [1, 5] {
        let dims = S::dims_for_batch(batch).unwrap();
        let x = inputs(dims.numel(), batch);
        let t = Tensor::<S, Cpu>::from_vec(&dev, dims.as_slice(), x.clone()).unwrap();
        let y = model.forward(&t);
        let feed = x.iter().map(|&v| v as f64).collect();
        let feeds = [(graph.inputs[0].name.as_str(), dims.as_slice().to_vec(), feed, "float32")];
        let (shape, got) = run_onnx(&path, &feeds);
        assert_eq!(shape, y.dims(), "{name}: output sizes at batch {batch}");
        compare(name, batch, &y.to_vec(), &got, |_| false);
    }
}
