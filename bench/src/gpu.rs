//! GPU workloads on the CUDA backend: a 4096² fp32 GEMM and the W2/W3/W7 training steps, each
//! eagerly and replayed as a CUDA graph. Each
//! result is checked against the CPU backend first, and a device that cannot start, a result
//! that disagrees or a device error afterwards is an `Err`: the bench then exits non-zero, so
//! `gpu-check/run.sh` cannot report a skipped or wrong run as a pass.

use shapeflow::prelude::*;
use shapeflow::{Cuda, TrainGraph};

use crate::figure::Figure;
use crate::workloads::{Cnn, Mlp, W7ResNet, times, train_steps};

pub fn run(workload: &str, out: &mut Vec<Figure>) -> Result<(), String> {
    let dev = Cuda::new(0).map_err(|e| format!("{workload}: the GPU could not be opened: {e}"))?;
    eprintln!("{workload}: {}, {}", dev.device_name(), dev.kernels());
    match workload {
        "gpu-gemm" => gemm(&dev, out)?,
        "gpu-w2" => {
            let x = Tensor::<(Dyn, Const<784>), Cuda>::rand_uniform(&dev, &[128, 784], 0.0, 1.0, 3)
                .map_err(|e| e.to_string())?;
            let new = || Mlp::<Cuda>::new(&dev, 0);
            agrees_with_cpu(workload, &new(), &Mlp::<Cpu>::new(&Cpu::default(), 0), &x)?;
            train_steps(&mut new(), &x, workload, 200, out);
            graph_steps(&dev, new, &x, workload, 200, out)?;
        }
        "gpu-w3" => {
            let x = image_batch(&dev)?;
            let new = || Cnn::<Cuda>::new(&dev, 0);
            agrees_with_cpu(workload, &new(), &Cnn::<Cpu>::new(&Cpu::default(), 0), &x)?;
            train_steps(&mut new(), &x, workload, 200, out);
            graph_steps(&dev, new, &x, workload, 200, out)?;
        }
        _ => {
            let x = image_batch(&dev)?;
            let new = || W7ResNet::<Cuda>::new(&dev, 0);
            agrees_with_cpu(workload, &new(), &W7ResNet::<Cpu>::new(&Cpu::default(), 0), &x)?;
            train_steps(&mut new(), &x, workload, 200, out);
            graph_steps(&dev, new, &x, workload, 200, out)?;
        }
    }
    dev.check().map_err(|e| format!("{workload}: the device reported an error: {e}"))
}

/// W3's and W7's input: 64 images of 1×28×28.
fn image_batch(dev: &Cuda) -> Result<Tensor<(Dyn, Const<1>, Const<28>, Const<28>), Cuda>, String> {
    Tensor::rand_uniform(dev, &[64, 1, 28, 28], 0.0, 1.0, 3).map_err(|e| e.to_string())
}

/// The training step of [`train_steps`] captured as a CUDA graph ([`TrainGraph`]) and
/// replayed: figures as `shapeflow-graph`. First, five steps through the graph and five
/// eager steps of a twin give the same losses (1e-4 relative), or an `Err`.
fn graph_steps<M, S>(
    dev: &Cuda,
    new: impl Fn() -> M,
    x: &Tensor<S, Cuda>,
    workload: &str,
    steps: usize,
    out: &mut Vec<Figure>,
) -> Result<(), String>
where
    M: Layer<S, Cuda, Output = (Dyn, Const<10>)>,
    S: Shape,
{
    let batch = x.batch();
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let fail = |e: shapeflow::Error| format!("{workload} with a CUDA graph: {e}");
    let (mut eager, mut model) = (new(), new());
    let mut eager_opt = Adam::new(&eager, AdamConfig::default());
    let mut opt = Adam::new(&model, AdamConfig::default());
    let mut graph = TrainGraph::new(dev, &mut model, &mut opt);
    for step in 0..5 {
        let (logits, cache) = eager.forward_train(x);
        let (want, d) = cross_entropy(&logits, &labels).map_err(fail)?;
        let grads = eager.backward_params(&cache, &d).map_err(fail)?;
        eager_opt.step(&mut eager, &grads).map_err(fail)?;
        let got = graph.step(x, &labels).map_err(fail)?;
        if (got - want).abs() > 1e-4 * (1.0 + want.abs()) {
            return Err(format!(
                "{workload}: step {step}'s loss is {got} through the CUDA graph but {want} eagerly"
            ));
        }
    }
    if !graph.is_captured() {
        return Err(format!("{workload}: the step was not captured as a CUDA graph"));
    }
    let mut failure = None;
    let t = times(steps / 10, steps, || {
        if let Err(e) = graph.step(x, &labels) {
            failure.get_or_insert(e);
        }
    });
    if let Some(e) = failure {
        return Err(fail(e));
    }
    out.push(Figure::new(
        "shapeflow-graph",
        workload,
        &format!("b{batch}"),
        "samples/s",
        t.iter().map(|s| batch as f64 / s),
    ));
    Ok(())
}

/// The same model (same seed) on the GPU and the CPU gives the same logits on `x` (1e-4
/// relative to the largest): the figures are of a backend that computes the right thing.
fn agrees_with_cpu<M, C, S>(
    workload: &str,
    gpu: &M,
    cpu: &C,
    x: &Tensor<S, Cuda>,
) -> Result<(), String>
where
    M: Layer<S, Cuda>,
    C: Layer<S, Cpu>,
    S: Shape,
{
    let got = gpu.forward(x).to_vec();
    let want = cpu.forward(&x.to_device(&Cpu::default())).to_vec();
    compare(workload, &got, &want, 1e-4)
}

/// `got` against `want`, each within `tol` of the largest magnitude of `want`.
fn compare(workload: &str, got: &[f32], want: &[f32], tol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "{workload}: {} values on the GPU, {} on the CPU",
            got.len(),
            want.len()
        ));
    }
    let scale = want.iter().fold(0f64, |m, &v| m.max((v as f64).abs())).max(1e-30);
    match got.iter().zip(want).position(|(&g, &w)| ((g - w) as f64).abs() > tol * scale) {
        Some(i) => Err(format!(
            "{workload}: value {i} is {} on the GPU but {} on the CPU (tolerance {tol} of {scale})",
            got[i], want[i]
        )),
        None => Ok(()),
    }
}

fn gemm(dev: &Cuda, out: &mut Vec<Figure>) -> Result<(), String> {
    let n = 4096;
    let a = Tensor::<(Dyn, Dyn), Cuda>::rand_uniform(dev, &[n, n], -1.0, 1.0, 1)
        .map_err(|e| e.to_string())?;
    let b = Tensor::<(Dyn, Dyn), Cuda>::rand_uniform(dev, &[n, n], -1.0, 1.0, 2)
        .map_err(|e| e.to_string())?;
    // Rows 0 and n/2 of the product against the host's, accumulated in f64.
    let c = a.matmul(&b).map_err(|e| e.to_string())?.to_vec();
    let (ah, bh) = (a.to_vec(), b.to_vec());
    for row in [0, n / 2] {
        let want: Vec<f32> = (0..n)
            .map(|j| {
                (0..n).map(|p| ah[row * n + p] as f64 * bh[p * n + j] as f64).sum::<f64>() as f32
            })
            .collect();
        compare("gpu-gemm", &c[row * n..(row + 1) * n], &want, 1e-4)?;
    }
    let flops = 2.0 * (n as f64).powi(3);
    let t = times(3, 20, || {
        let c = a.matmul(&b).ok();
        let _ = dev.check();
        std::hint::black_box(c);
    });
    out.push(Figure::new(
        "shapeflow",
        "gpu-gemm",
        "n4096",
        "GFLOP/s",
        t.iter().map(|s| flops / s / 1e9),
    ));
    Ok(())
}
