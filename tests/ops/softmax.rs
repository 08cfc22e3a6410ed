//! Softmax and LogSoftmax: gradient checks, PyTorch values, stability.

use shapeflow::prelude::*;

use crate::support::{assert_close, check_layer, fixture, input, nums};

fn against_pytorch<L: Layer<(Dyn, Const<5>), Cpu64, Output = (Dyn, Const<5>)>>(
    key: &str,
    mut layer: L,
) {
    let f = fixture();
    let dev = Cpu64::default();
    let x = Tensor::<(Dyn, Const<5>), Cpu64>::from_vec(&dev, &[2, 5], nums(&f["x"])).unwrap();
    let r = Tensor::<(Dyn, Const<5>), Cpu64>::from_vec(&dev, &[2, 5], nums(&f["r"])).unwrap();
    let (y, cache) = layer.forward_train(&x);
    let want = &f["activations"][key];
    assert_close(&format!("{key} y"), &y.to_vec(), &nums(&want["y"]), 1e-12, 1e-14);
    let (dx, _) = layer.backward(&cache, &r).unwrap();
    assert_close(&format!("{key} dx"), &dx.to_vec(), &nums(&want["dx"]), 1e-12, 1e-14);
}

#[test]
fn softmax() {
    against_pytorch("softmax", Softmax);
    check_layer("Softmax", &mut Softmax, &input::<(Dyn, Const<6>)>(&[3, 6], 7));
}

#[test]
fn log_softmax() {
    against_pytorch("log_softmax", LogSoftmax);
    check_layer("LogSoftmax", &mut LogSoftmax, &input::<(Dyn, Const<6>)>(&[3, 6], 8));
}

#[test]
fn softmax_rows_are_stable_and_sum_to_one() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<3>), Cpu>::from_batch(
        &dev,
        2,
        vec![1e4, 1e4 + 1.0, -1e4, 0.0, 0.0, 0.0],
    )
    .unwrap();
    let y = Softmax.forward(&x).to_vec();
    assert!(y.iter().all(|v| v.is_finite()));
    assert!((y[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let ly = LogSoftmax.forward(&x).to_vec();
    assert!(ly.iter().all(|v| v.is_finite()), "{ly:?}");
    assert!((ly[4] + 3f32.ln()).abs() < 1e-6);
}
