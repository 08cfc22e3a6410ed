//! Linear: gradient check and PyTorch values.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, fixture, input, nums};

#[test]
fn linear_gradients_match_finite_differences() {
    let dev = Cpu64::default();
    let mut fc = Linear::<Const<5>, Const<3>, Cpu64>::init(&dev, &mut Rng::new(3));
    let x = input::<(Dyn, Const<5>)>(&[4, 5], 1);
    check_layer("Linear", &mut fc, &x);
}

#[test]
fn linear_matches_pytorch() {
    let f = fixture();
    let l = &f["linear"];
    let dev = Cpu64::default();
    let mut fc = Linear::<Const<5>, Const<3>, Cpu64> {
        weight: Tensor::from_vec(&dev, &[3, 5], nums(&l["w"])).unwrap(),
        bias: Some(Tensor::from_vec(&dev, &[3], nums(&l["b"])).unwrap()),
    };
    let x = Tensor::<(Dyn, Const<5>), Cpu64>::from_vec(&dev, &[2, 5], nums(&f["x"])).unwrap();
    let (y, cache) = fc.forward_train(&x);
    assert_close("linear y", &y.to_vec(), &nums(&l["y"]), 1e-12, 1e-12);
    let r = Tensor::<(Dyn, Const<3>), Cpu64>::from_vec(&dev, &[2, 3], nums(&l["r"])).unwrap();
    let (dx, g) = fc.backward(&cache, &r).unwrap();
    assert_close("linear dx", &dx.to_vec(), &nums(&l["dx"]), 1e-12, 1e-12);
    assert_close("linear dw", &g.weight.to_vec(), &nums(&l["dw"]), 1e-12, 1e-12);
    assert_close("linear db", &g.bias.as_ref().unwrap().to_vec(), &nums(&l["db"]), 1e-12, 1e-12);
}

#[test]
fn linear_init_follows_pytorch_bounds_and_is_seeded() {
    let dev = Cpu::default();
    let a = Linear::<Const<784>, Const<512>, Cpu>::init(&dev, &mut Rng::new(5));
    let b = Linear::<Const<784>, Const<512>, Cpu>::init(&dev, &mut Rng::new(5));
    assert_eq!(a.weight.to_vec(), b.weight.to_vec());
    let bound = 1.0 / (784f32).sqrt();
    let w = a.weight.to_vec();
    assert!(w.iter().all(|v| v.abs() <= bound));
    // Uniform on ±bound has variance bound²/3.
    let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    assert!((var / (bound * bound / 3.0) - 1.0).abs() < 0.02, "variance {var}");
    assert!(a.bias.as_ref().unwrap().to_vec().iter().all(|v| v.abs() <= bound));
}

#[test]
fn linear_backward_rejects_a_gradient_from_another_batch() {
    let dev = Cpu::default();
    let mut fc = Linear::<Const<2>, Const<2>, Cpu>::init(&dev, &mut Rng::new(0));
    let x = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 3, vec![1.0; 6]).unwrap();
    let (_, cache) = fc.forward_train(&x);
    let dy = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 2, vec![1.0; 4]).unwrap();
    let err = fc.backward(&cache, &dy).expect_err("mismatched batch is an error");
    assert!(err.to_string().contains("batch 2"), "{err}");
}
