//! SGD (plain, momentum + weight decay, Nesterov, dampening): the first three steps match PyTorch.

use shapeflow::prelude::*;

use crate::optim_adam::three_steps;

fn sgd_case(key: &str, cfg: SgdConfig) {
    let dev = Cpu64::default();
    let mut opt: Option<Sgd<Linear<Const<3>, Const<2>, Cpu64>, Cpu64>> = None;
    three_steps(&dev, key, 1e-12, |m, g| {
        opt.get_or_insert_with(|| Sgd::new(m, cfg).unwrap()).step(m, g).unwrap();
    });
    let dev = Cpu::default();
    let mut opt: Option<Sgd<Linear<Const<3>, Const<2>, Cpu>, Cpu>> = None;
    three_steps(&dev, key, 1e-6, |m, g| {
        opt.get_or_insert_with(|| Sgd::new(m, cfg).unwrap()).step(m, g).unwrap();
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

#[test]
fn nesterov_without_momentum_is_an_error() {
    let fc = Linear::<Const<3>, Const<2>, Cpu>::init(&Cpu::default(), &mut Rng::new(0));
    assert!(Sgd::new(&fc, SgdConfig { nesterov: true, ..Default::default() }).is_err());
}
