//! Adam and AdamW: the first three steps on a fixed problem match PyTorch
//! (tests/fixtures/pytorch_reference.py, key "optim").

use shapeflow::prelude::*;

use crate::support::{assert_close, fixture, nums};

/// Runs three steps of `step` on the fixture's Linear(3 → 2) + MSE problem, on backend `B`, and
/// compares the parameters after each step with PyTorch's to `tol`.
pub fn three_steps<B: Backend>(
    dev: &B,
    key: &str,
    tol: f64,
    step: impl FnMut(&mut Linear<Const<3>, Const<2>, B>, &Linear<Const<3>, Const<2>, B>),
) {
    three_steps_in(&fixture(), dev, key, tol, step);
}

/// [`three_steps`] against the fixture `f` (its `optim_problem` and `optim[key]`).
pub fn three_steps_in<B: Backend>(
    f: &serde_json::Value,
    dev: &B,
    key: &str,
    tol: f64,
    mut step: impl FnMut(&mut Linear<Const<3>, Const<2>, B>, &Linear<Const<3>, Const<2>, B>),
) {
    let prob = &f["optim_problem"];
    let cast =
        |v: Vec<f64>| v.into_iter().map(<B::Elem as shapeflow::Elem>::from_f64).collect::<Vec<_>>();
    let mut fc = Linear::<Const<3>, Const<2>, B> {
        weight: Tensor::from_vec(dev, &[2, 3], cast(nums(&prob["w"]))).unwrap(),
        bias: Some(Tensor::from_vec(dev, &[2], cast(nums(&prob["b"]))).unwrap()),
    };
    let x = Tensor::<(Dyn, Const<3>), B>::from_vec(dev, &[4, 3], cast(nums(&prob["x"]))).unwrap();
    let t = Tensor::<(Dyn, Const<2>), B>::from_vec(dev, &[4, 2], cast(nums(&prob["t"]))).unwrap();
    for (i, want) in f["optim"][key].as_array().unwrap().iter().enumerate() {
        let (y, cache) = fc.forward_train(&x);
        let (_, dy) = mse_loss(&y, &t).unwrap();
        let (_, grads) = fc.backward(&cache, &dy).unwrap();
        step(&mut fc, &grads);
        let as64 = |v: Vec<B::Elem>| v.into_iter().map(shapeflow::Elem::as_f64).collect::<Vec<_>>();
        assert_close(
            &format!("{key} step {} weight", i + 1),
            &as64(fc.weight.to_vec()),
            &nums(&want["w"]),
            0.0,
            tol,
        );
        assert_close(
            &format!("{key} step {} bias", i + 1),
            &as64(fc.bias.as_ref().unwrap().to_vec()),
            &nums(&want["b"]),
            0.0,
            tol,
        );
    }
}

fn adam_case(key: &str, cfg: AdamConfig, decoupled: bool) {
    let run = |dev_tol: f64, f64_backend: bool| {
        if f64_backend {
            let dev = Cpu64::default();
            let mut opt: Option<Adam<Linear<Const<3>, Const<2>, Cpu64>, Cpu64>> = None;
            three_steps(&dev, key, dev_tol, |m, g| {
                let o = opt.get_or_insert_with(|| {
                    if decoupled { Adam::adamw(m, cfg) } else { Adam::new(m, cfg) }
                });
                o.step(m, g).unwrap();
            });
        } else {
            let dev = Cpu::default();
            let mut opt: Option<Adam<Linear<Const<3>, Const<2>, Cpu>, Cpu>> = None;
            three_steps(&dev, key, dev_tol, |m, g| {
                let o = opt.get_or_insert_with(|| {
                    if decoupled { Adam::adamw(m, cfg) } else { Adam::new(m, cfg) }
                });
                o.step(m, g).unwrap();
            });
        }
    };
    run(1e-12, true);
    run(1e-6, false);
}

#[test]
fn adam_matches_pytorch() {
    adam_case("adam", AdamConfig { lr: 0.01, ..Default::default() }, false);
}

#[test]
fn adam_with_l2_weight_decay_matches_pytorch() {
    adam_case(
        "adam_wd",
        AdamConfig { lr: 0.01, betas: (0.8, 0.99), eps: 1e-6, weight_decay: 0.1 },
        false,
    );
}

#[test]
fn adamw_matches_pytorch() {
    adam_case("adamw", AdamConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() }, true);
}
