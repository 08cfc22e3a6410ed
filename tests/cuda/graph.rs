//! `TrainGraph`: a training step captured as a CUDA graph and replayed trains exactly as the
//! eager loop does (losses, parameters, batch-norm statistics and counters, the optimizer's
//! step count), batches of another size run eagerly beside it, a changed learning rate is
//! recaptured, and a step that cannot be replayed is refused with its reason.

use shapeflow::module::StateRef;
use shapeflow::optim::Optimizer;
use shapeflow::prelude::*;
use shapeflow::{Cuda, TrainGraph};

use super::on_gpu::{close, gpu};

model! {
    /// A residual block with batch norm: fan-out, a merge, running statistics and a counter.
    pub struct Block {
        input x: [4, 8, 8],
        conv1: Conv2d<4, 4, 3, padding = 1, bias = false>(x),
        bn1: BatchNorm2d<4>,
        act1: Relu,
        conv2: Conv2d<4, 4, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<4>,
        sum: Add(x, bn2),
        act2: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<64, 5>,
    }
}

model! {
    /// Dropout draws new masks every step: not replayable.
    pub struct Dropped {
        input: [16],
        fc1: Linear<16, 16>,
        drop: Dropout<0.5>,
        fc2: Linear<16, 3>,
    }
}

type BlockBatch = Tensor<(Dyn, Const<4>, Const<8>, Const<8>), Cuda>;

fn batch(dev: &Cuda, rows: usize, seed: u64) -> (BlockBatch, Vec<usize>) {
    let x = BlockBatch::randn(dev, &[rows, 4, 8, 8], 0.0, 1.0, seed).unwrap();
    (x, (0..rows).map(|i| (i * 7 + seed as usize) % 5).collect())
}

fn state(m: &Block<Cuda>) -> Vec<(String, Vec<f32>, u64)> {
    let mut out = Vec::new();
    m.visit_state(&mut String::new(), &mut |n, e| match e {
        StateRef::Tensor(_, s) => out.push((n.to_string(), Cuda::to_host(s), 0)),
        StateRef::Count(c) => out.push((n.to_string(), Vec::new(), c)),
    });
    out
}

fn same_state(what: &str, a: &Block<Cuda>, b: &Block<Cuda>) {
    for ((n, x, c), (_, y, d)) in state(a).iter().zip(&state(b)) {
        close(&format!("{what}: {n}"), y, x);
        assert_eq!(c, d, "{what}: {n}");
    }
}

/// Ten steps eagerly and through the graph (one batch of another size among them) with
/// `opt_a` / `opt_b`: the same losses, parameters, statistics and counters.
fn trains_as_eagerly<O: Optimizer<Block<Cuda>>>(
    dev: &Cuda,
    what: &str,
    mut opt_a: O,
    mut opt_b: O,
) {
    let (mut a, mut b) = (Block::<Cuda>::new(dev, 3), Block::<Cuda>::new(dev, 3));
    let mut graph = TrainGraph::new(dev, &mut b, &mut opt_b);
    for step in 0..10u64 {
        let rows = if step == 6 { 5 } else { 12 };
        let (x, labels) = batch(dev, rows, step);
        let (y, c) = a.forward_train(&x);
        let (la, d) = cross_entropy(&y, &labels).unwrap();
        let g = a.backward_params(&c, &d).unwrap();
        opt_a.step(&mut a, &g).unwrap();
        let lb = graph.step(&x, &labels).unwrap();
        assert!((la - lb).abs() <= 1e-5 * (1.0 + la.abs()), "{what} step {step}: {la} vs {lb}");
        assert_eq!(graph.is_captured(), step >= 1, "{what}: captured at the second step");
        same_state(&format!("{what} after step {step}"), &a, graph.model());
    }
    drop(graph);
    assert_eq!(opt_a.steps(), opt_b.steps(), "{what}: step counts");
    same_state(what, &a, &b);
    dev.check().unwrap();
}

#[test]
fn a_replayed_step_trains_as_the_eager_loop_does() {
    let Some(dev) = gpu() else { return };
    let proto = Block::<Cuda>::new(&dev, 3);
    let adam = || Adam::new(&proto, AdamConfig { weight_decay: 0.01, ..AdamConfig::default() });
    trains_as_eagerly(&dev, "Adam", adam(), adam());
    let sgd = || Sgd::new(&proto, SgdConfig { lr: 0.05, momentum: 0.9, ..SgdConfig::default() });
    trains_as_eagerly(&dev, "SGD with momentum", sgd(), sgd());
}

#[test]
fn a_changed_learning_rate_is_captured_again() {
    let Some(dev) = gpu() else { return };
    let (mut a, mut b) = (Block::<Cuda>::new(&dev, 5), Block::<Cuda>::new(&dev, 5));
    let (mut oa, mut ob) =
        (Adam::new(&a, AdamConfig::default()), Adam::new(&b, AdamConfig::default()));
    let mut graph = TrainGraph::new(&dev, &mut b, &mut ob);
    for step in 0..6u64 {
        if step == 3 {
            oa.set_lr(0.01);
            graph.optimizer_mut().set_lr(0.01);
            assert!(!graph.is_captured());
        }
        let (x, labels) = batch(&dev, 8, step);
        let (y, c) = a.forward_train(&x);
        let (la, d) = cross_entropy(&y, &labels).unwrap();
        let g = a.backward_params(&c, &d).unwrap();
        oa.step(&mut a, &g).unwrap();
        let lb = graph.step(&x, &labels).unwrap();
        assert!((la - lb).abs() <= 1e-5 * (1.0 + la.abs()), "step {step}: {la} vs {lb}");
    }
    assert!(graph.is_captured());
    drop(graph);
    same_state("after the change", &a, &b);
}

#[test]
fn a_step_that_cannot_be_replayed_is_refused_and_undone() {
    let Some(dev) = gpu() else { return };
    let mut m = Dropped::<Cuda>::new(&dev, 1);
    let mut opt = Adam::new(&m, AdamConfig::default());
    let before = {
        let mut graph = TrainGraph::new(&dev, &mut m, &mut opt);
        let x = Tensor::<(Dyn, Const<16>), Cuda>::randn(&dev, &[4, 16], 0.0, 1.0, 1).unwrap();
        graph.step(&x, &[0, 1, 2, 0]).unwrap();
        let before = graph.model().fc1.weight.to_vec();
        let err = graph.step(&x, &[0, 1, 2, 0]).unwrap_err().to_string();
        assert!(err.contains("dropout") && err.contains("train it eagerly"), "{err}");
        let again = graph.step(&x, &[0, 1, 2, 0]).unwrap_err().to_string();
        assert_eq!(err, again, "refused for good");
        let labels = graph.step(&x, &[0, 1, 3, 0]).unwrap_err().to_string();
        assert!(labels.contains('3'), "{labels}");
        before
    };
    assert_eq!(opt.steps(), 1, "the refused step is not counted");
    assert_eq!(m.fc1.weight.to_vec(), before, "nothing of it ran");
    dev.check().unwrap();
}
