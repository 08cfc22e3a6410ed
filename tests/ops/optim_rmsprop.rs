//! RMSprop: the first three steps on a fixed problem match PyTorch, in f64 and f32
//! (tests/fixtures/pytorch_layer_norm_optim.py, key "optim").

use shapeflow::prelude::*;

use crate::optim_adam::three_steps_in;
use crate::support::layer_norm_optim_fixture;

fn case(key: &str, cfg: RmspropConfig) {
    let f = layer_norm_optim_fixture();
    let dev = Cpu64::default();
    let mut opt: Option<Rmsprop<Linear<Const<3>, Const<2>, Cpu64>, Cpu64>> = None;
    three_steps_in(&f, &dev, key, 1e-12, |m, g| {
        opt.get_or_insert_with(|| Rmsprop::new(m, cfg)).step(m, g).unwrap();
    });
    let dev = Cpu::default();
    let mut opt: Option<Rmsprop<Linear<Const<3>, Const<2>, Cpu>, Cpu>> = None;
    three_steps_in(&f, &dev, key, 1e-5, |m, g| {
        opt.get_or_insert_with(|| Rmsprop::new(m, cfg)).step(m, g).unwrap();
    });
}

#[test]
fn rmsprop_matches_pytorch() {
    case("rmsprop", RmspropConfig::default());
}

#[test]
fn rmsprop_centered_with_momentum_and_weight_decay_matches_pytorch() {
    let cfg = RmspropConfig {
        lr: 0.01,
        alpha: 0.9,
        eps: 1e-6,
        weight_decay: 0.1,
        momentum: 0.8,
        centered: true,
    };
    case("rmsprop_centered_momentum_wd", cfg);
}

#[test]
fn rmsprop_with_momentum_matches_pytorch() {
    case("rmsprop_momentum", RmspropConfig { lr: 0.005, momentum: 0.9, ..Default::default() });
}

#[test]
fn rmsprop_state_round_trips_through_a_checkpoint_entry_list() {
    use shapeflow::optim::Optimizer;
    let dev = Cpu::default();
    let fc = Linear::<Const<3>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0));
    let cfg = RmspropConfig { momentum: 0.5, centered: true, ..Default::default() };
    let mut a = Rmsprop::new(&fc, cfg);
    let mut m = fc.clone();
    a.step(&mut m, &fc).unwrap();
    let entries: std::collections::HashMap<_, _> =
        a.state_entries().into_iter().map(|e| (e.name.clone(), e)).collect();
    for key in ["optimizer.square_avg.0", "optimizer.grad_avg.1", "optimizer.momentum_buffer.0"] {
        assert!(entries.contains_key(key), "{key}");
    }
    let mut b = Rmsprop::new(&fc, cfg);
    b.load_state(&entries).unwrap();
    assert_eq!(b.steps(), 1);
    let mut plain = Rmsprop::new(&fc, RmspropConfig::default());
    assert!(plain.load_state(&std::collections::HashMap::new()).is_err());
}
