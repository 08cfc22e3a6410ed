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
    eprintln!("skipped: onnx and onnxruntime are not importable ({why}); .ci/run installs them");
    false
}

/// Deterministic inputs in [-1, 1).
pub fn inputs(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 7919 + seed * 104_729) % 2000) as f32) / 1000.0 - 1.0).collect()
}

/// Runs `model`'s ONNX file at `path` on `x` (sizes `dims`) in ONNX Runtime: the checker's
/// verdict must be ok; returns the first output's sizes and values.
pub fn run_onnx(
    path: &std::path::Path,
    input: &str,
    dims: &[usize],
    x: &[f32],
) -> (Vec<usize>, Vec<f64>) {
    let dir = path.parent().unwrap();
    let req = dir.join(format!("{}-request.json", path.file_stem().unwrap().to_string_lossy()));
    let body = json!({ "model": path, "inputs": { input: { "shape": dims, "data": x } } });
    std::fs::write(&req, body.to_string()).unwrap();
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
        let (shape, got) = run_onnx(&path, &graph.inputs[0].name, dims.as_slice(), &x);
        assert_eq!(shape, y.dims(), "{name}: output sizes at batch {batch}");
        for (i, (&want, &got)) in y.to_vec().iter().zip(&got).enumerate() {
            let err = (want as f64 - got).abs();
            assert!(
                err <= 1e-5 * (want as f64).abs().max(1.0),
                "{name}, batch {batch}, output {i}: shapeflow {want}, ONNX Runtime {got}"
            );
        }
    }
}
