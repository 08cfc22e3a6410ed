//! mse_loss: PyTorch values, gradient check, size mismatch.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_loss, fixture, input, nums};

#[test]
fn mse_matches_pytorch() {
    let f = fixture();
    let dev = Cpu64::default();
    let want = &f["losses"]["mse"];
    let pred =
        Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[3, 4], nums(&f["logits"])).unwrap();
    let target =
        Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[3, 4], nums(&want["target"])).unwrap();
    let (loss, grad) = mse_loss(&pred, &target).unwrap();
    assert_close("mse loss", &[loss], &[want["loss"].as_f64().unwrap()], 1e-12, 0.0);
    assert_close("mse grad", &grad.to_vec(), &nums(&want["grad"]), 1e-12, 1e-15);
}

#[test]
fn mse_gradient_check() {
    let x = input::<(Dyn, Const<3>)>(&[2, 3], 13);
    let t = input::<(Dyn, Const<3>)>(&[2, 3], 14);
    check_loss("mse", &x, |p| mse_loss(p, &t));
}

#[test]
fn mse_rejects_different_batch_sizes() {
    let dev = Cpu::default();
    let a = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 2, vec![0.0; 4]).unwrap();
    let b = Tensor::<(Dyn, Const<2>), Cpu>::from_batch(&dev, 3, vec![0.0; 6]).unwrap();
    assert!(mse_loss(&a, &b).is_err());
}
