//! Gradient clipping by global norm and by value, against hand-computed numbers.

use shapeflow::optim::{clip_grad_norm, clip_grad_value};
use shapeflow::prelude::*;

#[test]
fn clip_grad_norm_scales_every_parameter_by_the_global_norm() {
    let dev = Cpu64::default();
    let mut g = Linear::<Const<2>, Const<1>, Cpu64>::init(&dev, &mut Rng::new(0));
    g.weight = Tensor::from_vec(&dev, &[1, 2], vec![3.0, 0.0]).unwrap();
    g.bias = Some(Tensor::from_vec(&dev, &[1], vec![4.0]).unwrap());
    let norm = clip_grad_norm(&mut g, 2.5).unwrap();
    assert_eq!(norm, 5.0);
    let coef = 2.5 / (5.0 + 1e-6);
    assert_eq!(g.weight.to_vec(), vec![3.0 * coef, 0.0]);
    assert_eq!(g.bias.as_ref().unwrap().to_vec(), vec![4.0 * coef]);
    // Below the limit nothing changes.
    assert_eq!(clip_grad_norm(&mut g, 10.0).unwrap(), 2.5 * 5.0 / (5.0 + 1e-6));
    assert_eq!(g.bias.as_ref().unwrap().to_vec(), vec![4.0 * coef]);
    let mut bad = Tensor::<(Const<1>,), Cpu64>::from_vec(&dev, &[1], vec![f64::NAN]).unwrap();
    assert!(clip_grad_norm(&mut bad, 1.0).is_err());
}

#[test]
fn clip_grad_value_clamps_elements() {
    let dev = Cpu::default();
    let mut g =
        Tensor::<(Const<4>,), Cpu>::from_vec(&dev, &[4], vec![-2.0, -0.1, 0.3, 7.0]).unwrap();
    clip_grad_value(&mut g, 0.25);
    assert_eq!(g.to_vec(), vec![-0.25, -0.1, 0.25, 0.25]);
}
