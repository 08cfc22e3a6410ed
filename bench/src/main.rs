//! shapeflow benchmarks.
//!
//! ```text
//! cargo run --release -p shapeflow-bench -- [matmul] [mlp] [cnn] [--json] [--peers]
//! ```
//!
//! * `matmul`: f32 1024×1024 product in GFLOP/s, against ndarray's default `dot`
//!   (matrixmultiply) measured in the same run.
//! * `mlp`: one training step of the 784-512-256-10 ReLU MLP (forward, cross-entropy, generated
//!   backward, Adam) at batch 128, in samples/s.
//! * `cnn`: one training step of the small CNN (conv 1→8 k3, ReLU, max-pool 2, conv 8→16 k3,
//!   ReLU, max-pool 2, flatten 400, linear → 10; cross-entropy; Adam) at batch 64, samples/s.
//! * `--peers`: also runs `bench/peers.py` (PyTorch, skipped with a message when it cannot be
//!   imported) in the same invocation and prints shapeflow/peer ratios.
//! * `--json`: one JSON object per line per figure instead of the table.

use std::process::Command;
use std::time::Instant;

use shapeflow::prelude::*;

model! {
    /// The benchmark MLP.
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 512>,
        act1: Relu,
        fc2: Linear<512, 256>,
        act2: Relu,
        fc3: Linear<256, 10>,
    }
}

model! {
    /// The benchmark CNN (the convolution issue's workload).
    pub struct Cnn {
        input: [1, 28, 28],
        conv1: Conv2d<1, 8, 3>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<8, 16, 3>,
        act2: Relu,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<400, 10>,
    }
}

/// One measured figure: median, min and max over repetitions, higher is better.
struct Figure {
    implementation: String,
    workload: &'static str,
    param: String,
    unit: &'static str,
    median: f64,
    min: f64,
    max: f64,
}

/// Runs `body` `reps` times after `warmup` runs; converts each duration with `rate`.
fn measure(
    warmup: usize,
    reps: usize,
    mut body: impl FnMut(),
    rate: impl Fn(f64) -> f64,
) -> (f64, f64, f64) {
    for _ in 0..warmup {
        body();
    }
    let mut rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            body();
            rate(t.elapsed().as_secs_f64())
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

fn bench_matmul(out: &mut Vec<Figure>) {
    let n = 1024;
    let dev = Cpu::default();
    let a_data: Vec<f32> = (0..n * n).map(|i| ((i * 31 % 97) as f32) / 97.0 - 0.5).collect();
    let b_data: Vec<f32> = (0..n * n).map(|i| ((i * 17 % 89) as f32) / 89.0 - 0.5).collect();
    let a = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[n, n], a_data.clone()).expect("sizes");
    let b = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[n, n], b_data.clone()).expect("sizes");
    let flops = 2.0 * (n as f64).powi(3);
    let (median, min, max) = measure(
        3,
        15,
        || {
            std::hint::black_box(a.matmul(&b).ok());
        },
        |s| flops / s / 1e9,
    );
    out.push(Figure {
        implementation: "shapeflow".into(),
        workload: "matmul",
        param: format!("n{n}"),
        unit: "GFLOP/s",
        median,
        min,
        max,
    });
    let na = ndarray::Array2::from_shape_vec((n, n), a_data).expect("sizes");
    let nb = ndarray::Array2::from_shape_vec((n, n), b_data).expect("sizes");
    let (median, min, max) = measure(
        2,
        7,
        || {
            std::hint::black_box(na.dot(&nb));
        },
        |s| flops / s / 1e9,
    );
    out.push(Figure {
        implementation: "ndarray-dot".into(),
        workload: "matmul",
        param: format!("n{n}"),
        unit: "GFLOP/s",
        median,
        min,
        max,
    });
}

fn bench_mlp(out: &mut Vec<Figure>) {
    let batch = 128;
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig::default());
    let x =
        Tensor::<(Dyn, U784), Cpu>::rand_uniform(&dev, &[batch, 784], 0.0, 1.0, 1).expect("sizes");
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut step = || {
        let (logits, cache) = model.forward_train(&x);
        let (_, d) = cross_entropy(&logits, &labels).expect("finite loss");
        let grads = model.backward(&cache, &d).expect("backward");
        opt.step(&mut model, &grads).expect("step");
    };
    let (median, min, max) = measure(20, 200, &mut step, |s| batch as f64 / s);
    out.push(Figure {
        implementation: "shapeflow".into(),
        workload: "mlp-train",
        param: format!("b{batch}"),
        unit: "samples/s",
        median,
        min,
        max,
    });
}

fn bench_cnn(out: &mut Vec<Figure>) {
    let batch = 64;
    let dev = Cpu::default();
    let mut model = Cnn::<Cpu>::new(&dev, 0);
    let mut opt = Adam::new(&model, AdamConfig::default());
    let x =
        Tensor::<(Dyn, U1, U28, U28), Cpu>::rand_uniform(&dev, &[batch, 1, 28, 28], 0.0, 1.0, 1)
            .expect("sizes");
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut step = || {
        let (logits, cache) = model.forward_train(&x);
        let (_, d) = cross_entropy(&logits, &labels).expect("finite loss");
        let grads = model.backward(&cache, &d).expect("backward");
        opt.step(&mut model, &grads).expect("step");
    };
    let (median, min, max) = measure(20, 200, &mut step, |s| batch as f64 / s);
    out.push(Figure {
        implementation: "shapeflow".into(),
        workload: "cnn-train",
        param: format!("b{batch}"),
        unit: "samples/s",
        median,
        min,
        max,
    });
}

fn run_peers(workloads: &[&str]) -> Vec<Figure> {
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
            let workload = match v["workload"].as_str()? {
                "matmul" => "matmul",
                "mlp-train" => "mlp-train",
                "cnn-train" => "cnn-train",
                _ => return None,
            };
            Some(Figure {
                implementation: v["impl"].as_str()?.to_string(),
                workload,
                param: v["param"].as_str()?.to_string(),
                unit: if workload == "matmul" { "GFLOP/s" } else { "samples/s" },
                median: v["median"].as_f64()?,
                min: v["min"].as_f64()?,
                max: v["max"].as_f64()?,
            })
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let peers = args.iter().any(|a| a == "--peers");
    let mut workloads: Vec<&str> =
        args.iter().map(String::as_str).filter(|a| !a.starts_with("--")).collect();
    if workloads.is_empty() {
        workloads = vec!["matmul", "mlp", "cnn"];
    }
    let mut figures = Vec::new();
    for w in &workloads {
        match *w {
            "matmul" => bench_matmul(&mut figures),
            "mlp" => bench_mlp(&mut figures),
            "cnn" => bench_cnn(&mut figures),
            other => {
                eprintln!("unknown workload `{other}` (known: matmul, mlp, cnn)");
                std::process::exit(2);
            }
        }
    }
    if peers {
        figures.extend(run_peers(&workloads));
    }
    if json {
        for f in &figures {
            println!(
                "{}",
                serde_json::json!({"impl": f.implementation, "workload": f.workload, "param": f.param,
                    "unit": f.unit, "median": f.median, "min": f.min, "max": f.max})
            );
        }
        return;
    }
    println!("threads: {} (RAYON_NUM_THREADS to change)", shapeflow_threads());
    println!(
        "{:<14} {:<10} {:<6} {:>12} {:>12} {:>12} {:<10} {:>16}",
        "impl", "workload", "param", "median", "min", "max", "unit", "shapeflow/impl"
    );
    for f in &figures {
        let ours = figures
            .iter()
            .find(|g| {
                g.implementation == "shapeflow" && g.workload == f.workload && g.param == f.param
            })
            .map(|g| g.median);
        let ratio = ours.map_or("-".to_string(), |o| format!("{:.2}x", o / f.median));
        println!(
            "{:<14} {:<10} {:<6} {:>12.1} {:>12.1} {:>12.1} {:<10} {:>16}",
            f.implementation, f.workload, f.param, f.median, f.min, f.max, f.unit, ratio
        );
    }
}

fn shapeflow_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
