//! Relu, LeakyRelu, Sigmoid, Tanh, Gelu: gradient checks and PyTorch values.

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
    assert_close(
        &format!("{key} inference y"),
        &layer.forward(&x).to_vec(),
        &nums(&want["y"]),
        1e-12,
        1e-14,
    );
    let (dx, _) = layer.backward(&cache, &r).unwrap();
    assert_close(&format!("{key} dx"), &dx.to_vec(), &nums(&want["dx"]), 1e-12, 1e-14);
}

#[test]
fn relu() {
    against_pytorch("relu", Relu);
    check_layer("Relu", &mut Relu, &input::<(Dyn, Const<7>)>(&[3, 7], 2));
}

#[test]
fn leaky_relu() {
    against_pytorch("leaky_relu_0.1", LeakyRelu::new(0.1));
    check_layer("LeakyRelu", &mut LeakyRelu::new(0.2), &input::<(Dyn, Const<7>)>(&[3, 7], 3));
}

#[test]
fn sigmoid() {
    against_pytorch("sigmoid", Sigmoid);
    check_layer("Sigmoid", &mut Sigmoid, &input::<(Dyn, Const<7>)>(&[3, 7], 4));
}

#[test]
fn tanh() {
    against_pytorch("tanh", Tanh);
    check_layer("Tanh", &mut Tanh, &input::<(Dyn, Const<7>)>(&[3, 7], 5));
}

#[test]
fn gelu() {
    against_pytorch("gelu", Gelu);
    check_layer("Gelu", &mut Gelu, &input::<(Dyn, Const<7>)>(&[3, 7], 6));
}

#[test]
fn sigmoid_is_stable_for_large_inputs() {
    let dev = Cpu::default();
    let x = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![-1000.0, 1000.0]).unwrap();
    assert_eq!(Sigmoid.forward(&x).to_vec(), vec![0.0, 1.0]);
}

/// GELU's tanh approximation against PyTorch's `gelu(approximate="tanh")`, and its gradient check.
#[test]
fn gelu_tanh_matches_pytorch_and_finite_differences() {
    let f = crate::support::attention_fixture();
    let c = &f["gelu_tanh"];
    let dev = Cpu64::default();
    let x = Tensor::<(Dyn, Const<17>), Cpu64>::from_vec(&dev, &[1, 17], nums(&c["x"])).unwrap();
    let (y, cache) = GeluTanh.forward_train(&x);
    assert_close("gelu tanh y", &y.to_vec(), &nums(&c["y"]), 1e-12, 1e-12);
    let (dx, _) = GeluTanh.backward(&cache, &y.ones_like()).unwrap();
    assert_close("gelu tanh dx", &dx.to_vec(), &nums(&c["dx"]), 1e-12, 1e-12);
    check_layer("GeluTanh", &mut GeluTanh, &input::<(Dyn, Const<5>)>(&[3, 5], 11));
}

/// A NaN input stays NaN through `Relu` (as `torch.relu(nan)` is NaN), so it reaches the loss
/// and `fit` stops, instead of being silently replaced by 0 (found by the data-parallel NaN
/// check: a NaN pixel vanished and training "succeeded").
#[test]
fn relu_passes_nan_through() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<3>), Cpu>::from_batch(&dev, 1, vec![f32::NAN, -1.0, 2.0]).unwrap();
    let y = Relu.forward(&x).to_vec();
    assert!(y[0].is_nan(), "{y:?}");
    assert_eq!(&y[1..], &[0.0, 2.0]);
}
