//! nll_loss: PyTorch values, gradient check.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_loss, fixture, input, nums};

#[test]
fn nll_matches_pytorch() {
    let f = fixture();
    let dev = Cpu64::default();
    let logp =
        Tensor::<(Dyn, Const<4>), Cpu64>::from_vec(&dev, &[3, 4], nums(&f["logits"])).unwrap();
    let labels: Vec<usize> =
        f["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let (loss, grad) = nll_loss(&logp, &labels).unwrap();
    let want = &f["losses"]["nll"];
    assert_close("nll loss", &[loss], &[want["loss"].as_f64().unwrap()], 1e-12, 0.0);
    assert_close("nll grad", &grad.to_vec(), &nums(&want["grad"]), 1e-12, 1e-15);
    assert!(nll_loss(&logp, &[0, 1, 9]).is_err());
}

#[test]
fn nll_gradient_check() {
    let x = input::<(Dyn, Const<3>)>(&[2, 3], 12);
    check_loss("nll", &x, |p| nll_loss(p, &[2, 0]));
}
