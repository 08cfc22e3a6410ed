//! bce_with_logits: PyTorch values, gradient check, extreme logits.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_loss, fixture, input, nums};

#[test]
fn bce_with_logits_matches_pytorch() {
    let f = fixture();
    let dev = Cpu64::default();
    let want = &f["losses"]["bce_with_logits"];
    let x = Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[3, 4], nums(&f["logits"])).unwrap();
    let t =
        Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[3, 4], nums(&want["target"])).unwrap();
    let (loss, grad) = bce_with_logits(&x, &t).unwrap();
    assert_close("bce loss", &[loss], &[want["loss"].as_f64().unwrap()], 1e-12, 0.0);
    assert_close("bce grad", &grad.to_vec(), &nums(&want["grad"]), 1e-12, 1e-15);
}

#[test]
fn bce_gradient_check() {
    let x = input::<(Dyn, Const<3>)>(&[2, 3], 15);
    let dev = Cpu64::default();
    let t = Tensor::<(Dyn, Const<3>), Cpu64>::from_vec(
        &dev,
        &[2, 3],
        vec![0.0, 1.0, 0.3, 1.0, 0.0, 0.5],
    )
    .unwrap();
    check_loss("bce_with_logits", &x, |p| bce_with_logits(p, &t));
}

#[test]
fn bce_is_finite_for_extreme_logits() {
    let dev = Cpu::default();
    let x = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![-200.0, 200.0]).unwrap();
    let t = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![1.0, 0.0]).unwrap();
    let (loss, _) = bce_with_logits(&x, &t).unwrap();
    assert!((loss - 200.0).abs() < 1e-3, "{loss}");
}

#[test]
fn targets_outside_zero_one_are_errors() {
    let dev = Cpu::default();
    let logits = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 1, vec![0.5, -0.5]).unwrap();
    for bad in [3.0, -2.0, f32::NAN] {
        let t = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 1, vec![0.0, bad]).unwrap();
        let e = bce_with_logits(&logits, &t).unwrap_err().to_string();
        assert!(e.contains("at position 1 is outside [0, 1]"), "{e}");
    }
}
