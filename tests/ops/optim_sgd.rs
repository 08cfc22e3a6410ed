//! SGD (plain, momentum + weight decay, Nesterov, dampening): the first three steps match PyTorch.

use shapeflow::prelude::*;

use crate::optim_adam::three_steps;
use crate::support::assert_close;

fn sgd_case(key: &str, cfg: SgdConfig) {
    let dev = Cpu64::default();
    let mut opt: Option<Sgd<Linear<Const<3>, Const<2>, Cpu64>, Cpu64>> = None;
    three_steps(&dev, key, 1e-12, |m, g| {
        opt.get_or_insert_with(|| Sgd::new(m, cfg)).step(m, g).unwrap();
    });
    let dev = Cpu::default();
    let mut opt: Option<Sgd<Linear<Const<3>, Const<2>, Cpu>, Cpu>> = None;
    three_steps(&dev, key, 1e-6, |m, g| {
        opt.get_or_insert_with(|| Sgd::new(m, cfg)).step(m, g).unwrap();
    });
}

#[test]
fn sgd_matches_pytorch() {
    sgd_case("sgd", SgdConfig { lr: 0.1, ..Default::default() });
}

#[test]
fn sgd_momentum_and_weight_decay_match_pytorch() {
    sgd_case(
        "sgd_momentum_wd",
        SgdConfig { lr: 0.1, momentum: 0.9, weight_decay: 0.01, ..Default::default() },
    );
}

#[test]
fn sgd_nesterov_matches_pytorch() {
    sgd_case(
        "sgd_nesterov",
        SgdConfig { lr: 0.05, momentum: 0.8, nesterov: true, ..Default::default() },
    );
}

#[test]
fn sgd_dampening_matches_pytorch() {
    sgd_case(
        "sgd_dampening",
        SgdConfig { lr: 0.1, momentum: 0.9, dampening: 0.3, ..Default::default() },
    );
}

/// What PyTorch refuses when an optimizer is built is refused at its next step, with the
/// parameters untouched: a configuration given at construction or a rate set later.
#[test]
fn configurations_pytorch_refuses_are_errors_that_name_the_field() {
    let dev = Cpu::default();
    let mut fc = Linear::<Const<3>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0));
    let grads = Linear::<Const<3>, Const<2>, Cpu>::init(&dev, &mut Rng::new(1));
    let before = fc.weight.to_vec();
    let mut sgd = Sgd::new(&fc, SgdConfig { nesterov: true, ..Default::default() });
    let e = sgd.step(&mut fc, &grads).unwrap_err().to_string();
    assert!(e.contains("Nesterov momentum needs momentum > 0"), "{e}");
    let mut adam = Adam::new(&fc, AdamConfig { betas: (0.9, 1.5), ..Default::default() });
    let e = adam.step(&mut fc, &grads).unwrap_err().to_string();
    assert!(e.contains("Adam: `betas.1` must be at least 0 and below 1, not 1.5"), "{e}");
    let mut adam = Adam::new(&fc, AdamConfig::default());
    adam.set_lr(f64::NAN);
    let e = adam.step(&mut fc, &grads).unwrap_err().to_string();
    assert!(e.contains("Adam: `lr` must be finite and at least 0, not NaN"), "{e}");
    let mut rms = Rmsprop::new(&fc, RmspropConfig { momentum: -0.5, ..Default::default() });
    assert!(rms.step(&mut fc, &grads).unwrap_err().to_string().contains("`momentum`"));
    let mut ada = Adagrad::new(&fc, AdagradConfig { lr_decay: -1.0, ..Default::default() });
    assert!(ada.step(&mut fc, &grads).unwrap_err().to_string().contains("`lr_decay`"));
    assert_eq!(fc.weight.to_vec(), before, "a refused step changes nothing");
}

/// The default body every backend gets (axpy and scale) computes what the CPU backend's fused
/// kernel computes, for every momentum variant.
#[test]
fn composed_sgd_step_equals_the_fused_kernel() {
    use shapeflow::backend::{Optim, SgdStep, sgd_step_composed};
    let dev = Cpu64::default();
    let p0: Vec<f64> = (0..37).map(|i| (i as f64 * 0.3).sin()).collect();
    let g: Vec<f64> = (0..37).map(|i| (i as f64 * 0.7).cos()).collect();
    let b0: Vec<f64> = (0..37).map(|i| (i as f64 * 0.11).sin()).collect();
    for (momentum, dampening, nesterov, first) in [
        (0.0, 0.0, false, true),
        (0.9, 0.0, false, true),
        (0.9, 0.3, false, false),
        (0.8, 0.0, true, false),
    ] {
        let hp = SgdStep { lr: 0.05, momentum, dampening, nesterov, weight_decay: 0.01, first };
        let g = dev.upload(&g);
        let (mut p1, mut b1) = (dev.upload(&p0), dev.upload(&b0));
        let (mut p2, mut b2) = (dev.upload(&p0), dev.upload(&b0));
        let with = momentum > 0.0;
        Cpu64::sgd_step(&mut p1, &g, with.then_some(&mut b1), hp);
        sgd_step_composed::<Cpu64>(&mut p2, &g, with.then_some(&mut b2), hp);
        let what = format!("sgd {hp:?}");
        assert_close(
            &format!("{what} p"),
            &Cpu64::to_host(&p2),
            &Cpu64::to_host(&p1),
            1e-14,
            1e-15,
        );
        assert_close(
            &format!("{what} buf"),
            &Cpu64::to_host(&b2),
            &Cpu64::to_host(&b1),
            1e-14,
            1e-15,
        );
    }
}
