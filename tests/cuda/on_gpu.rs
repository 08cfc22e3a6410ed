//! Each layer's forward and backward, each loss and each optimizer step on CUDA match the CPU.

use shapeflow::Cuda;
use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

/// GPU 0, or `None` (the test then passes after printing why) when none can be opened; with
/// `SHAPEFLOW_REQUIRE_CUDA` set (by `gpu-check/run.sh`) a failed start fails the test instead.
pub(crate) fn gpu() -> Option<Cuda> {
    match Cuda::new(0) {
        Ok(g) => {
            println!("{}: {}", g.device_name(), g.kernels());
            Some(g)
        }
        Err(e) if std::env::var("SHAPEFLOW_REQUIRE_CUDA").is_ok() => {
            panic!("SHAPEFLOW_REQUIRE_CUDA is set but the GPU could not be opened: {e}")
        }
        Err(e) => {
            // The error's own advice ("or use the Cpu backend") is for a program, not a test.
            let why = e.to_string();
            let why = why.split(" (install").next().unwrap_or_default();
            shapeflow::skip_test(format!(
                "needs an NVIDIA GPU and driver ({why}); `scripts/gpu-check.sh` builds this suite for a GPU machine, SHAPEFLOW_REQUIRE_CUDA=1 makes this a failure"
            ));
            None
        }
    }
}

pub(crate) fn close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{what}[{i}]: cuda {g}, cpu {w}");
    }
}

/// Runs `layer` (built identically on both backends) forward and backward on both and compares
/// outputs, input gradients and parameter gradients.
pub(crate) fn same_layer<S, L, M>(
    what: &str,
    cpu_layer: &mut L,
    gpu_layer: &mut M,
    sizes: &[usize],
    dev: &Cuda,
) where
    S: Shape,
    L: Layer<S, Cpu>,
    M: Layer<S, Cuda, Output = L::Output>,
{
    let x = Tensor::<S, Cpu>::randn(&Cpu::default(), sizes, 0.0, 1.0, 5).unwrap();
    let xg = x.to_device(dev);
    let (y, c) = cpu_layer.forward_train(&x);
    let (yg, cg) = gpu_layer.forward_train(&xg);
    close(&format!("{what} y"), &yg.to_vec(), &y.to_vec());
    close(
        &format!("{what} inference y"),
        &gpu_layer.forward(&xg).to_vec(),
        &cpu_layer.forward(&x).to_vec(),
    );
    let r = Tensor::<L::Output, Cpu>::randn(&Cpu::default(), y.dims(), 0.0, 1.0, 6).unwrap();
    let (dx, g) = cpu_layer.backward(&c, &r).unwrap();
    let (dxg, gg) = gpu_layer.backward(&cg, &r.to_device(dev)).unwrap();
    close(&format!("{what} dx"), &dxg.to_vec(), &dx.to_vec());
    let mut want = Vec::new();
    g.visit_params(&mut String::new(), &mut |n, _, s| want.push((n.to_string(), s.to_vec())));
    let mut got = Vec::new();
    gg.visit_params(&mut String::new(), &mut |n, _, s| {
        got.push((n.to_string(), <Cuda as Device>::to_host(s)))
    });
    for ((n, w), (_, g)) in want.iter().zip(&got) {
        close(&format!("{what} d{n}"), g, w);
    }
    dev.check().unwrap();
}

macro_rules! twin {
    ($ty:ty, $seed:expr, $dev:expr) => {{
        let cpu = <$ty as Init<Cpu>>::init(&Cpu::default(), &mut Rng::new($seed));
        (cpu, <$ty as Init<Cuda>>::init($dev, &mut Rng::new($seed)))
    }};
}

#[test]
fn layers_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let (mut a, mut b) = (
        Linear::<U7, U5, Cpu>::init(&Cpu::default(), &mut Rng::new(1)),
        Linear::<U7, U5, Cuda>::init(&dev, &mut Rng::new(1)),
    );
    same_layer::<(Dyn, U7), _, _>("Linear", &mut a, &mut b, &[9, 7], &dev);
    for (name, kind) in
        [("Relu", 0), ("Sigmoid", 1), ("Tanh", 2), ("Gelu", 3), ("Softmax", 4), ("LogSoftmax", 5)]
    {
        let sizes = [6, 11];
        match kind {
            0 => same_layer::<(Dyn, U11), _, _>(name, &mut Relu, &mut Relu, &sizes, &dev),
            1 => same_layer::<(Dyn, U11), _, _>(name, &mut Sigmoid, &mut Sigmoid, &sizes, &dev),
            2 => same_layer::<(Dyn, U11), _, _>(name, &mut Tanh, &mut Tanh, &sizes, &dev),
            3 => same_layer::<(Dyn, U11), _, _>(name, &mut Gelu, &mut Gelu, &sizes, &dev),
            4 => same_layer::<(Dyn, U11), _, _>(name, &mut Softmax, &mut Softmax, &sizes, &dev),
            _ => {
                same_layer::<(Dyn, U11), _, _>(name, &mut LogSoftmax, &mut LogSoftmax, &sizes, &dev)
            }
        }
    }
    same_layer::<(Dyn, U11), _, _>(
        "LeakyRelu",
        &mut LeakyRelu::new(0.1),
        &mut LeakyRelu::new(0.1),
        &[6, 11],
        &dev,
    );
    // Dropout draws the same mask on both backends (counter-based generator).
    same_layer::<(Dyn, U11), _, _>(
        "Dropout",
        &mut Dropout::new(0.3, 9),
        &mut Dropout::new(0.3, 9),
        &[6, 11],
        &dev,
    );
    same_layer::<(Dyn, U3, U5, U5), _, _>(
        "Dropout2d",
        &mut Dropout2d::new(0.5, 9),
        &mut Dropout2d::new(0.5, 9),
        &[4, 3, 5, 5],
        &dev,
    );
    let (mut a, mut b) = twin!(Conv2d<U3, U4, U3, _, U2, U1, U1>, 2, &dev);
    same_layer::<(Dyn, U3, U9, U8), _, _>("Conv2d s2 p1", &mut a, &mut b, &[3, 3, 9, 8], &dev);
    let (mut a, mut b) = twin!(Conv2d<U3, U4, U3, _, U1, U2, U2>, 3, &dev);
    same_layer::<(Dyn, U3, U7, U6), _, _>("Conv2d p2 d2", &mut a, &mut b, &[2, 3, 7, 6], &dev);
    let (mut a, mut b) = twin!(Conv1d<U2, U3, U3, _, U2, U1, U1>, 4, &dev);
    same_layer::<(Dyn, U2, U9), _, _>("Conv1d", &mut a, &mut b, &[3, 2, 9], &dev);
    same_layer::<(Dyn, U3, U7, U6), _, _>(
        "MaxPool2d",
        &mut MaxPool2d::<U3, U2, U1>::default(),
        &mut MaxPool2d::<U3, U2, U1>::default(),
        &[2, 3, 7, 6],
        &dev,
    );
    same_layer::<(Dyn, U3, U7, U6), _, _>(
        "AvgPool2d",
        &mut AvgPool2d::<U3, U2, U1>::default(),
        &mut AvgPool2d::<U3, U2, U1>::default(),
        &[2, 3, 7, 6],
        &dev,
    );
    same_layer::<(Dyn, U3, U7, U6), _, _>(
        "GlobalAvgPool2d",
        &mut GlobalAvgPool2d::default(),
        &mut GlobalAvgPool2d::default(),
        &[2, 3, 7, 6],
        &dev,
    );
    same_layer::<(Dyn, U3, U4, U2), _, _>(
        "Flatten",
        &mut Flatten,
        &mut Flatten,
        &[2, 3, 4, 2],
        &dev,
    );
    let (mut a, mut b) = twin!(BatchNorm2d<U3, _>, 5, &dev);
    same_layer::<(Dyn, U3, U5, U4), _, _>("BatchNorm2d", &mut a, &mut b, &[4, 3, 5, 4], &dev);
    close("BatchNorm2d running_var", &b.running_var.to_vec(), &a.running_var.to_vec());
    let (mut a, mut b) = twin!(BatchNorm1d<U6, _>, 6, &dev);
    same_layer::<(Dyn, U6), _, _>("BatchNorm1d", &mut a, &mut b, &[8, 6], &dev);
    // Layer norm: more rows than one block holds threads, wider rows than a block.
    let (mut a, mut b) = twin!(LayerNorm<U7, _>, 7, &dev);
    same_layer::<(Dyn, U300, U7), _, _>("LayerNorm", &mut a, &mut b, &[3, 300, 7], &dev);
    let mut a = LayerNorm::<U300, Cpu>::with_config(&Cpu::default(), 1e-5, false);
    let mut b = LayerNorm::<U300, Cuda>::with_config(&dev, 1e-5, false);
    same_layer::<(Dyn, U300), _, _>("LayerNorm plain", &mut a, &mut b, &[5, 300], &dev);
}

#[test]
fn losses_and_optimizers_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let cpu = Cpu::default();
    let x = Tensor::<(Dyn, U5), Cpu>::randn(&cpu, &[4, 5], 0.0, 2.0, 7).unwrap();
    let t = Tensor::<(Dyn, U5), Cpu>::rand_uniform(&cpu, &[4, 5], 0.0, 1.0, 8).unwrap();
    let (xg, tg) = (x.to_device(&dev), t.to_device(&dev));
    let labels = [0, 4, 2, 2];
    let pairs = [
        (
            "cross_entropy",
            cross_entropy(&x, &labels).unwrap(),
            cross_entropy(&xg, &labels).unwrap(),
        ),
        ("nll", nll_loss(&x, &labels).unwrap(), nll_loss(&xg, &labels).unwrap()),
        ("mse", mse_loss(&x, &t).unwrap(), mse_loss(&xg, &tg).unwrap()),
        ("bce", bce_with_logits(&x, &t).unwrap(), bce_with_logits(&xg, &tg).unwrap()),
    ];
    for (name, (l, g), (lg, gg)) in pairs {
        assert!((l - lg).abs() <= 1e-4 * (1.0 + l.abs()), "{name}: cpu {l}, cuda {lg}");
        close(name, &gg.to_vec(), &g.to_vec());
    }
    assert!(cross_entropy(&xg, &[0, 5, 1, 1]).is_err());
    // Three optimizer steps on identical parameters and gradients.
    let mut p = Linear::<U5, U3, Cpu>::init(&cpu, &mut Rng::new(3));
    let mut pg = Linear::<U5, U3, Cuda>::init(&dev, &mut Rng::new(3));
    let g = Linear::<U5, U3, Cpu>::init(&cpu, &mut Rng::new(4));
    let gg = Linear::<U5, U3, Cuda>::init(&dev, &mut Rng::new(4));
    let cfg = AdamConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() };
    let (mut o, mut og) = (Adam::adamw(&p, cfg), Adam::adamw(&pg, cfg));
    let sgd_cfg = SgdConfig { lr: 0.05, momentum: 0.9, nesterov: true, ..Default::default() };
    let (mut s, mut sg) = (Sgd::new(&p, sgd_cfg), Sgd::new(&pg, sgd_cfg));
    for _ in 0..3 {
        o.step(&mut p, &g).unwrap();
        og.step(&mut pg, &gg).unwrap();
        s.step(&mut p, &g).unwrap();
        sg.step(&mut pg, &gg).unwrap();
    }
    close("optimizer steps", &pg.weight.to_vec(), &p.weight.to_vec());
    let rms =
        RmspropConfig { momentum: 0.9, centered: true, weight_decay: 0.01, ..Default::default() };
    let (mut r, mut rg) = (Rmsprop::new(&p, rms), Rmsprop::new(&pg, rms));
    let ada =
        AdagradConfig { lr_decay: 0.01, initial_accumulator_value: 0.1, ..Default::default() };
    let (mut a, mut ag) = (Adagrad::new(&p, ada), Adagrad::new(&pg, ada));
    for _ in 0..3 {
        r.step(&mut p, &g).unwrap();
        rg.step(&mut pg, &gg).unwrap();
        a.step(&mut p, &g).unwrap();
        ag.step(&mut pg, &gg).unwrap();
    }
    close("RMSprop and Adagrad steps", &pg.weight.to_vec(), &p.weight.to_vec());
    dev.check().unwrap();
}

model! {
    /// A small CNN trained on both backends.
    pub struct Small {
        input: [1, 12, 12],
        conv: Conv2d<1, 4, 3, padding = 1>,
        bn: BatchNorm2d<4>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<144, 3>,
    }
}

#[test]
fn a_model_trains_identically_on_cuda_and_cpu() {
    let Some(dev) = gpu() else { return };
    let cpu = Cpu::default();
    let (mut a, mut b) = (Small::<Cpu>::new(&cpu, 1), Small::<Cuda>::new(&dev, 1));
    let (mut oa, mut ob) =
        (Adam::new(&a, AdamConfig::default()), Adam::new(&b, AdamConfig::default()));
    let x = SmallInput::<Cpu>::randn(&cpu, &[8, 1, 12, 12], 0.0, 1.0, 2).unwrap();
    let xg = x.to_device(&dev);
    let labels: Vec<usize> = (0..8).map(|i| i % 3).collect();
    for step in 0..5 {
        let (ya, ca) = a.forward_train(&x);
        let (yb, cb) = b.forward_train(&xg);
        let (la, da) = cross_entropy(&ya, &labels).unwrap();
        let (lb, db) = cross_entropy(&yb, &labels).unwrap();
        assert!((la - lb).abs() < 1e-4 * (1.0 + la), "step {step}: loss cpu {la}, cuda {lb}");
        let ga = a.backward(&ca, &da).unwrap();
        let gb = b.backward(&cb, &db).unwrap();
        oa.step(&mut a, &ga).unwrap();
        ob.step(&mut b, &gb).unwrap();
    }
    close("trained fc.weight", &b.fc.weight.to_vec(), &a.fc.weight.to_vec());
    dev.check().unwrap();
}

model! {
    /// Merge nodes (add, mul, sub) and a value read three times, on both backends.
    pub struct Merged {
        input x: [6],
        fc: Linear<6, 6>,
        sum: Add(x, fc),
        gate: Sigmoid(x),
        prod: Mul(sum, gate),
        diff: Sub(prod, x),
        cat: Concat(diff, fc),
        part: Narrow<2, 6>,
        head: Linear<6, 4>,
    }
}

#[test]
fn a_graph_model_matches_the_cpu() {
    let Some(dev) = gpu() else { return };
    let cpu = Cpu::default();
    let mut a = Merged::<Cpu>::new(&cpu, 4);
    let mut b = Merged::<Cuda>::new(&dev, 4);
    same_layer::<(Dyn, Const<6>), _, _>("Merged", &mut a, &mut b, &[5, 6], &dev);
}

/// `layer` on a ragged batch on both backends: outputs, input gradients, parameter gradients.
fn same_sequence_layer<L, M, const F: usize, const O: usize>(
    what: &str,
    cpu_layer: &mut L,
    gpu_layer: &mut M,
    dev: &Cuda,
) where
    L: Layer<(Dyn, Dyn, Const<F>), Cpu, Output = (Dyn, Dyn, Const<O>)>,
    M: Layer<(Dyn, Dyn, Const<F>), Cuda, Output = (Dyn, Dyn, Const<O>)>,
{
    let mut rng = Rng::new(8);
    let seqs: Vec<Vec<f32>> =
        [5usize, 2, 4].iter().map(|&n| (0..n * F).map(|_| rng.normal() as f32).collect()).collect();
    let x = Tensor::<(Dyn, Dyn, Const<F>), Cpu>::from_sequences(&Cpu::default(), &seqs).unwrap();
    let xg = x.to_device(dev);
    let (y, c) = cpu_layer.forward_train(&x);
    let (yg, cg) = gpu_layer.forward_train(&xg);
    close(&format!("{what} y"), &yg.to_vec(), &y.to_vec());
    let r =
        Tensor::<(Dyn, Dyn, Const<O>), Cpu>::randn(&Cpu::default(), y.dims(), 0.0, 1.0, 6).unwrap();
    let (dx, g) = cpu_layer.backward(&c, &r).unwrap();
    let (dxg, gg) = gpu_layer.backward(&cg, &r.to_device(dev)).unwrap();
    close(&format!("{what} dx"), &dxg.to_vec(), &dx.to_vec());
    let mut want = Vec::new();
    g.visit_params(&mut String::new(), &mut |_, _, s| want.extend(Cpu::to_host(s)));
    let mut got = Vec::new();
    gg.visit_params(&mut String::new(), &mut |_, _, s| got.extend(<Cuda as Device>::to_host(s)));
    close(&format!("{what} parameter gradients"), &got, &want);
}

#[test]
fn sequence_layers_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let cpu = Cpu::default();
    same_sequence_layer::<_, _, 3, 8>(
        "Lstm",
        &mut Lstm::<Const<3>, Const<4>, Const<8>, 2, Cpu>::init(&cpu, &mut Rng::new(1)),
        &mut Lstm::<Const<3>, Const<4>, Const<8>, 2, Cuda>::init(&dev, &mut Rng::new(1)),
        &dev,
    );
    same_sequence_layer::<_, _, 3, 8>(
        "Gru",
        &mut Gru::<Const<3>, Const<4>, Const<8>, 2, Cpu>::init(&cpu, &mut Rng::new(2)),
        &mut Gru::<Const<3>, Const<4>, Const<8>, 2, Cuda>::init(&dev, &mut Rng::new(2)),
        &dev,
    );
    same_sequence_layer::<_, _, 8, 8>(
        "MultiheadAttention",
        &mut MultiheadAttention::<Const<8>, Const<2>, Cpu>::init(&cpu, &mut Rng::new(5))
            .causal()
            .rope(),
        &mut MultiheadAttention::<Const<8>, Const<2>, Cuda>::init(&dev, &mut Rng::new(5))
            .causal()
            .rope(),
        &dev,
    );
    same_sequence_layer::<_, _, 3, 4>(
        "Rnn",
        &mut Rnn::<Const<3>, Const<4>, Const<4>, 1, Cpu>::init(&cpu, &mut Rng::new(3)),
        &mut Rnn::<Const<3>, Const<4>, Const<4>, 1, Cuda>::init(&dev, &mut Rng::new(3)),
        &dev,
    );
    // Embedding, the reductions over time and the per-step loss.
    let ids =
        Tensor::<(Dyn, Dyn), Cpu>::from_sequences(&cpu, &[vec![1.0, 4.0, 2.0], vec![3.0]]).unwrap();
    let mut emb =
        Embedding::<Const<5>, Const<3>, Cpu>::init(&cpu, &mut Rng::new(4)).with_padding_idx(0);
    let mut embg =
        Embedding::<Const<5>, Const<3>, Cuda>::init(&dev, &mut Rng::new(4)).with_padding_idx(0);
    let (e, ec) = emb.forward_train(&ids);
    let (eg, egc) = embg.forward_train(&ids.to_device(&dev));
    close("Embedding y", &eg.to_vec(), &e.to_vec());
    let (_, gw) = emb.backward(&ec, &e.ones_like()).unwrap();
    let (_, gwg) = embg.backward(&egc, &eg.ones_like()).unwrap();
    close("Embedding dweight", &gwg.weight.to_vec(), &gw.weight.to_vec());
    // The fused Embedding → LSTM pass `model!` generates (gather of the projected table,
    // scatter of the gates' gradients per id).
    let mut lstm = Lstm::<Const<3>, Const<4>, Const<8>, 2, Cpu>::init(&cpu, &mut Rng::new(5));
    let mut lstmg = Lstm::<Const<3>, Const<4>, Const<8>, 2, Cuda>::init(&dev, &mut Rng::new(5));
    let (y, ce, cr) = embedding_recurrent::forward_train(&mut emb, &mut lstm, &ids);
    let idsg = ids.to_device(&dev);
    let (yg, ceg, crg) = embedding_recurrent::forward_train(&mut embg, &mut lstmg, &idsg);
    close("Embedding → Lstm y", &yg.to_vec(), &y.to_vec());
    let (ge, gl) = embedding_recurrent::backward_params(&emb, &lstm, &ce, &cr, &y).unwrap();
    let (geg, glg) = embedding_recurrent::backward_params(&embg, &lstmg, &ceg, &crg, &yg).unwrap();
    close("Embedding → Lstm dweight", &geg.weight.to_vec(), &ge.weight.to_vec());
    for (c, (a, b)) in glg.cells.iter().zip(&gl.cells).enumerate() {
        close(
            &format!("Embedding → Lstm cell {c} dweight_ih"),
            &a.weight_ih.to_vec(),
            &b.weight_ih.to_vec(),
        );
        close(
            &format!("Embedding → Lstm cell {c} dbias_hh"),
            &a.bias_hh.to_vec(),
            &b.bias_hh.to_vec(),
        );
    }
    for bi in [false, true] {
        let last = LastStep { bidirectional: bi };
        close("LastStep", &last.forward(&eg).to_vec(), &last.forward(&e).to_vec());
    }
    close("MeanOverTime", &MeanOverTime.forward(&eg).to_vec(), &MeanOverTime.forward(&e).to_vec());
    let labels = [vec![0usize, 2, 1], vec![2]];
    let (l, d) = cross_entropy_steps(&e, &labels).unwrap();
    let (lg, dg) = cross_entropy_steps(&eg, &labels).unwrap();
    assert!((l - lg).abs() < 1e-5, "cross_entropy_steps {l} vs {lg}");
    close("cross_entropy_steps grad", &dg.to_vec(), &d.to_vec());
    dev.check().unwrap();
}
