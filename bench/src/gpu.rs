//! GPU workloads on the CUDA backend: a 4096² fp32 GEMM and the W2/W3 training steps.

use shapeflow::Cuda;
use shapeflow::prelude::*;

use crate::figure::Figure;
use crate::workloads::{Cnn, Mlp, times};

pub fn run(workload: &str, out: &mut Vec<Figure>) {
    let dev = match Cuda::new(0) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{workload} skipped: {e}");
            return;
        }
    };
    match workload {
        "gpu-gemm" => gemm(&dev, out),
        "gpu-w2" => train::<Mlp<Cuda>, (Dyn, U784)>(&dev, Mlp::new(&dev, 0), 128, "gpu-w2", out),
        _ => train::<Cnn<Cuda>, (Dyn, U1, U28, U28)>(&dev, Cnn::new(&dev, 0), 64, "gpu-w3", out),
    }
    if let Err(e) = dev.check() {
        eprintln!("{workload}: the device reported an error: {e}");
    }
}

fn gemm(dev: &Cuda, out: &mut Vec<Figure>) {
    let n = 4096;
    let a = Tensor::<(Dyn, Dyn), Cuda>::rand_uniform(dev, &[n, n], -1.0, 1.0, 1).expect("sizes");
    let b = Tensor::<(Dyn, Dyn), Cuda>::rand_uniform(dev, &[n, n], -1.0, 1.0, 2).expect("sizes");
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
}

fn train<M, S>(dev: &Cuda, mut model: M, batch: usize, name: &str, out: &mut Vec<Figure>)
where
    M: Layer<S, Cuda, Output = (Dyn, U10)> + Module<Cuda>,
    S: shapeflow::Shape,
{
    let mut opt = Adam::new(&model, AdamConfig::default());
    let x = Tensor::<S, Cuda>::rand_uniform(
        dev,
        S::dims_for_batch(batch).expect("rank").as_slice(),
        0.0,
        1.0,
        3,
    )
    .expect("sizes");
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let t = times(20, 200, || {
        let (logits, cache) = model.forward_train(&x);
        let (_, d) = cross_entropy(&logits, &labels).expect("finite loss");
        let (_, grads) = model.backward(&cache, &d).expect("backward");
        opt.step(&mut model, &grads).expect("step");
    });
    out.push(Figure::new(
        "shapeflow",
        name,
        &format!("b{batch}"),
        "samples/s",
        t.iter().map(|s| batch as f64 / s),
    ));
}
