//! GPU workloads on the CUDA backend: a 4096² fp32 GEMM and the W2/W3 training steps.

use shapeflow::Cuda;
use shapeflow::prelude::*;

use crate::figure::Figure;
use crate::workloads::{Cnn, Mlp, times, train_steps};

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
        "gpu-w2" => {
            let x = Tensor::<(Dyn, Const<784>), Cuda>::rand_uniform(&dev, &[128, 784], 0.0, 1.0, 3)
                .expect("sizes");
            train_steps(&mut Mlp::<Cuda>::new(&dev, 0), &x, "gpu-w2", out);
        }
        _ => {
            let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cuda>::rand_uniform(
                &dev,
                &[64, 1, 28, 28],
                0.0,
                1.0,
                3,
            )
            .expect("sizes");
            train_steps(&mut Cnn::<Cuda>::new(&dev, 0), &x, "gpu-w3", out);
        }
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
