//! Runs bench/peers.py (PyTorch, JAX) in the same invocation and reads its JSON lines.

use std::process::Command;

use crate::figure::Figure;

pub fn run(workloads: &[&str]) -> Vec<Figure> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/peers.py");
    let python = std::env::var("SHAPEFLOW_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = match Command::new(&python).arg(script).args(workloads).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("peers skipped: cannot run {python}: {e}");
            return Vec::new();
        }
    };
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| {
            let s = |k: &str| v[k].as_str().map(str::to_string);
            let f = |k: &str| v[k].as_f64();
            let mut fig = Figure::new(&s("impl")?, &s("workload")?, &s("param")?, &s("unit")?, []);
            (fig.median, fig.min, fig.max) = (f("median")?, f("min")?, f("max")?);
            Some(fig)
        })
        .collect()
}
