//! A loss written with the op set, trained by `fit` with no gradient written.

use shapeflow::fit::{AutogradLoss, LossBatch, LossFn};
use shapeflow::prelude::*;

model! {
    /// A small classifier.
    pub struct Small {
        input: [3],
        fc1: Linear<3, 8>,
        act: Tanh,
        fc2: Linear<8, 2>,
    }
}

/// Cross-entropy written with ops: what `LossFn::CrossEntropy` computes.
fn cross_entropy_ops<B: Backend>(b: &LossBatch<'_, B>) -> Result<Tensor<(), B>> {
    Ok(b.outputs.log_softmax::<1>()?.gather::<1, _>(b.labels)?.mean_all().neg())
}

/// Huber (smooth L1, δ = 1) against float targets, with a branch per value through `where_`.
fn huber<B: Backend>(b: &LossBatch<'_, B>) -> Result<Tensor<(), B>> {
    let t =
        b.targets.ok_or_else(|| shapeflow::Error::Config("huber needs float targets".into()))?;
    let err = (b.outputs - t)?;
    let small = err.abs().le(&err.full_like(1.0))?;
    Ok(err.square().mul_scalar(0.5).where_(&small, &err.abs().sub_scalar(0.5))?.mean_all())
}

fn data() -> (Dataset, Vec<f32>) {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<3>), Cpu>::randn(&dev, &[256, 3], 0.0, 1.0, 8).unwrap().to_vec();
    let labels: Vec<usize> = x.chunks(3).map(|r| usize::from(r[0] - r[2] > 0.0)).collect();
    (Dataset::new(x.clone(), labels, 3).unwrap(), x)
}

fn config(loss: LossFn) -> FitConfig {
    FitConfig { epochs: 3, batch_size: 32, loss, verbosity: Verbosity::Quiet, ..Default::default() }
}

#[test]
fn an_autograd_cross_entropy_trains_as_the_built_in_one() {
    let (dev, (train, _)) = (Cpu::default(), data());
    let run = |loss: LossFn| {
        let mut m = Small::<Cpu>::new(&dev, 3);
        let mut opt = Adam::new(&m, AdamConfig { lr: 0.01, ..Default::default() });
        fit(&mut m, &mut opt, &dev, &train, &config(loss), &mut []).unwrap().get("loss")
    };
    let built_in = run(LossFn::CrossEntropy);
    let ops = run(LossFn::Autograd(AutogradLoss::new::<Cpu>("ce_ops", cross_entropy_ops::<Cpu>)));
    for (a, b) in built_in.iter().zip(&ops) {
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "{built_in:?} vs {ops:?}");
    }
    assert!(ops[2] < ops[0]);
}

#[test]
fn a_regression_loss_with_a_branch_trains() {
    let dev = Cpu::default();
    let (_, x) = data();
    let targets: Vec<f32> = x.chunks(3).flat_map(|r| [r[0] + r[1], 2.0 * r[2]]).collect();
    let train = Dataset::regression(x, targets, 3, 2).unwrap();
    let mut m = Small::<Cpu>::new(&dev, 4);
    let mut opt = Adam::new(&m, AdamConfig { lr: 0.01, ..Default::default() });
    let loss = LossFn::Autograd(AutogradLoss::new::<Cpu>("huber", huber::<Cpu>));
    let cfg = FitConfig { epochs: 20, ..config(loss) };
    let history = fit(&mut m, &mut opt, &dev, &train, &cfg, &mut []).unwrap().get("loss");
    assert!(history[19] < 0.3 * history[0], "{history:?}");
}

#[test]
fn a_loss_made_for_another_backend_is_an_err() {
    let dev = Cpu::default();
    let (train, _) = data();
    let mut m = Small::<Cpu>::new(&dev, 3);
    let mut opt = Adam::new(&m, AdamConfig::default());
    let loss = LossFn::Autograd(AutogradLoss::new::<Cpu64>("ce_ops", cross_entropy_ops::<Cpu64>));
    let err = fit(&mut m, &mut opt, &dev, &train, &config(loss), &mut []).unwrap_err().to_string();
    assert!(err.contains("was made for backend") && err.contains("f64"), "{err}");
}
