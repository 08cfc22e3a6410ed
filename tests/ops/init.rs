//! Initialisers: bounds and variances against PyTorch's formulas (the draws themselves differ
//! from PyTorch's generator, so the statistics are what is checked).

use shapeflow::init::{self, FanMode};
use shapeflow::prelude::*;

fn variance(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64
}

fn weight() -> Tensor<(Const<64>, Const<32>, Const<3>, Const<3>), Cpu64> {
    Tensor::zeros(&Cpu64::default(), &[64, 32, 3, 3]).unwrap()
}

#[test]
fn xavier_and_kaiming_have_pytorch_bounds_and_variances() {
    let (fan_in, fan_out): (f64, f64) = (32.0 * 9.0, 64.0 * 9.0);
    let mut rng = Rng::new(1);
    let mut w = weight();
    init::xavier_uniform(&mut w, 1.0, &mut rng).unwrap();
    let a: f64 = (6.0 / (fan_in + fan_out)).sqrt();
    let v = w.to_vec();
    assert!(v.iter().all(|x| x.abs() <= a));
    // 18,432 draws: the sample variance is within 3% of a²/3 with overwhelming probability.
    assert!((variance(&v) / (a * a / 3.0) - 1.0).abs() < 0.03);
    init::xavier_normal(&mut w, 2.0, &mut rng).unwrap();
    assert!((variance(&w.to_vec()) / (4.0 * 2.0 / (fan_in + fan_out)) - 1.0).abs() < 0.03);
    let g = init::gain("relu", 0.0);
    init::kaiming_uniform(&mut w, g, FanMode::FanIn, &mut rng).unwrap();
    let b = g * (3.0 / fan_in).sqrt();
    assert!(w.to_vec().iter().all(|x| x.abs() <= b));
    init::kaiming_normal(&mut w, g, FanMode::FanOut, &mut rng).unwrap();
    assert!((variance(&w.to_vec()) / (2.0 / fan_out) - 1.0).abs() < 0.03);
}

#[test]
fn fills_and_fans() {
    let mut w = weight();
    init::constant(&mut w, 0.25);
    assert!(w.to_vec().iter().all(|&x| x == 0.25));
    init::zeros(&mut w);
    assert!(w.to_vec().iter().all(|&x| x == 0.0));
    assert_eq!(init::fans(&[10, 20]).unwrap(), (20, 10));
    let mut bias = Tensor::<(Const<3>,), Cpu64>::zeros(&Cpu64::default(), &[3]).unwrap();
    assert!(init::xavier_uniform(&mut bias, 1.0, &mut Rng::new(0)).is_err());
    assert!((init::gain("leaky_relu", 0.01) - (2.0f64 / 1.0001).sqrt()).abs() < 1e-15);
    assert_eq!(init::gain("tanh", 0.0), 5.0 / 3.0);
}
