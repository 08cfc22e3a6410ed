//! W8: W2's MLP (784-512-256-10, batch 128, Adam) written as free code with the op set and
//! trained through autograd, and the op set's elementwise / broadcast / reduction kernels'
//! bandwidth against a plain copy of the same bytes.

use rayon::prelude::*;
use shapeflow::autograd::{module_grads, requires_grad_params};
use shapeflow::prelude::*;

use crate::figure::Figure;
use crate::workloads::times;

type C<const N: usize> = Const<N>;

/// The MLP as plain tensors (`x · w + b`, weights stored `[in, out]`).
#[derive(Module, Clone)]
pub struct FreeMlp<B: Backend> {
    pub w1: Tensor<(C<784>, C<512>), B>,
    pub b1: Tensor<(C<512>,), B>,
    pub w2: Tensor<(C<512>, C<256>), B>,
    pub b2: Tensor<(C<256>,), B>,
    pub w3: Tensor<(C<256>, C<10>), B>,
    pub b3: Tensor<(C<10>,), B>,
}

impl<B: Backend> FreeMlp<B> {
    /// PyTorch's `Linear` initialisation bounds (uniform ±1/√in).
    pub fn new(dev: &B, seed: u64) -> Result<Self> {
        let u = |n_in: usize, sizes: &[usize], s: u64| {
            let a = 1.0 / (n_in as f64).sqrt();
            (sizes.to_vec(), a, s)
        };
        let (s1, a1, _) = u(784, &[784, 512], seed);
        let (s2, a2, _) = u(512, &[512, 256], seed);
        let (s3, a3, _) = u(256, &[256, 10], seed);
        Ok(FreeMlp {
            w1: Tensor::rand_uniform(dev, &s1, -a1, a1, seed)?,
            b1: Tensor::rand_uniform(dev, &[512], -a1, a1, seed + 1)?,
            w2: Tensor::rand_uniform(dev, &s2, -a2, a2, seed + 2)?,
            b2: Tensor::rand_uniform(dev, &[256], -a2, a2, seed + 3)?,
            w3: Tensor::rand_uniform(dev, &s3, -a3, a3, seed + 4)?,
            b3: Tensor::rand_uniform(dev, &[10], -a3, a3, seed + 5)?,
        })
    }

    /// Mean cross-entropy of the logits against `labels` (class indices as numbers, `[batch, 1]`).
    pub fn loss(
        &self,
        x: &Tensor<(Dyn, C<784>), B>,
        labels: &Tensor<(Dyn, C<1>), B>,
    ) -> Result<Tensor<(), B>> {
        let h1 = x.matmul(&self.w1)?.add(&self.b1)?.relu();
        let h2 = h1.matmul(&self.w2)?.add(&self.b2)?.relu();
        let logits = h2.matmul(&self.w3)?.add(&self.b3)?;
        Ok(logits.log_softmax::<1>()?.gather::<1, _>(labels)?.mean_all().neg())
    }
}

/// One training step: parameters made leaves, the loss, backward, Adam. The tracked copy and
/// the graph are dropped before the optimizer writes the parameters, so their buffers are not
/// shared then (a shared buffer would be copied before the write).
fn step<B: Backend>(
    model: &mut FreeMlp<B>,
    opt: &mut Adam<FreeMlp<B>, B>,
    x: &Tensor<(Dyn, C<784>), B>,
    labels: &Tensor<(Dyn, C<1>), B>,
) -> Result<f64> {
    let (grads, value) = {
        let mut live = model.clone();
        requires_grad_params(&mut live)?;
        let loss = live.loss(x, labels)?;
        (module_grads(&loss.backward()?, &live), loss.item())
    };
    opt.step(model, &grads)?;
    Ok(value)
}

pub fn w8_autograd_mlp_train(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let x =
        Tensor::<(Dyn, C<784>), Cpu>::rand_uniform(&dev, &[128, 784], 0.0, 1.0, 1).expect("sizes");
    let labels = Tensor::<(Dyn, C<1>), Cpu>::from_vec(
        &dev,
        &[128, 1],
        (0..128).map(|i| (i % 10) as f32).collect(),
    )
    .expect("sizes");
    let mut model = FreeMlp::new(&dev, 0).expect("sizes");
    let mut opt = Adam::new(&model, AdamConfig::default());
    let t = Cpu::on_workers(|| {
        times(20, 200, || {
            step(&mut model, &mut opt, &x, &labels).expect("step");
        })
    });
    out.push(Figure::new("shapeflow", "w8", "b128", "samples/s", t.iter().map(|s| 128.0 / s)));
}

/// GB/s of the op set's kernels (the `Strided` family) on 4M-element f32 buffers (bytes read +
/// written, outputs allocated once, as a training step's pooled buffers are), beside a plain
/// copy of the same bytes split across the workers (`copy`): the figure the ratio is taken
/// against.
pub fn op_bandwidth(out: &mut Vec<Figure>) {
    use shapeflow::backend::{Around, BinaryOp, ReduceOp, Strided, UnaryOp, View};
    const N: usize = 1 << 22;
    let dev = Cpu::default();
    let dims = shapeflow::Dims::new(&[1024, 4096]).expect("sizes");
    let row_dims = shapeflow::Dims::new(&[4096]).expect("sizes");
    let data = |seed: u64, n: usize| {
        Tensor::<(Dyn,), Cpu>::rand_uniform(&dev, &[n], 0.5, 1.5, seed)
            .expect("sizes")
            .into_storage()
    };
    let (x, y, row) = (data(1, N), data(2, N), data(3, 4096));
    let mut o = dev.zeros(N);
    let mut small = dev.zeros(4096);
    let mut cols = dev.zeros(1024);
    let full = View::contiguous(&dims);
    let bytes = |arrays: f64| arrays * (N * 4) as f64 / 1e9;
    let mut figure = |name: &str, moved: f64, body: &mut (dyn FnMut() + Send)| {
        let t = Cpu::on_workers(|| times(3, 20, &mut *body));
        out.push(Figure::new("shapeflow", "ops", name, "GB/s", t.iter().map(|s| bytes(moved) / s)));
    };
    let host = Cpu::to_host(&x);
    let mut dst = vec![0f32; N];
    figure("copy", 2.0, &mut || {
        dst.par_chunks_mut(N / 8)
            .zip(host.par_chunks(N / 8))
            .for_each(|(d, s)| d.copy_from_slice(s));
        std::hint::black_box(&dst);
    });
    figure("exp", 2.0, &mut || Cpu::unary(UnaryOp::Exp, &x, &mut o));
    figure("add", 3.0, &mut || Cpu::binary(BinaryOp::Add, (&x, full), (&y, full), &mut o, &dims));
    figure("add-broadcast-row", 2.0, &mut || {
        Cpu::binary(
            BinaryOp::Add,
            (&x, full),
            (&row, View::broadcast(&row_dims, &dims)),
            &mut o,
            &dims,
        )
    });
    figure("sum-axis0", 1.0, &mut || {
        Cpu::reduce(ReduceOp::Sum, &x, Around { outer: 1, n: 1024, inner: 4096 }, &mut small)
    });
    figure("sum-axis1", 1.0, &mut || {
        Cpu::reduce(ReduceOp::Sum, &x, Around { outer: 1024, n: 4096, inner: 1 }, &mut cols)
    });
}
