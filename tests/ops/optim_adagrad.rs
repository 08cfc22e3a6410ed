//! Adagrad: the first three steps on a fixed problem match PyTorch, in f64 and f32
//! (tests/fixtures/pytorch_layer_norm_optim.py, key "optim").

use shapeflow::prelude::*;

use crate::optim_adam::three_steps_in;
use crate::support::layer_norm_optim_fixture;

fn case(key: &str, cfg: AdagradConfig) {
    let f = layer_norm_optim_fixture();
    let dev = Cpu64::default();
    let mut opt: Option<Adagrad<Linear<Const<3>, Const<2>, Cpu64>, Cpu64>> = None;
    three_steps_in(&f, &dev, key, 1e-12, |m, g| {
        opt.get_or_insert_with(|| Adagrad::new(m, cfg)).step(m, g).unwrap();
    });
    let dev = Cpu::default();
    let mut opt: Option<Adagrad<Linear<Const<3>, Const<2>, Cpu>, Cpu>> = None;
    three_steps_in(&f, &dev, key, 1e-5, |m, g| {
        opt.get_or_insert_with(|| Adagrad::new(m, cfg)).step(m, g).unwrap();
    });
}

#[test]
fn adagrad_matches_pytorch() {
    case("adagrad", AdagradConfig { lr: 0.1, ..Default::default() });
}

#[test]
fn adagrad_with_decay_weight_decay_and_initial_value_matches_pytorch() {
    let cfg = AdagradConfig {
        lr: 0.1,
        lr_decay: 0.05,
        weight_decay: 0.1,
        initial_accumulator_value: 0.5,
        eps: 1e-8,
    };
    case("adagrad_decay_wd_init", cfg);
}
