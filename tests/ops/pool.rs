//! MaxPool2d, AvgPool2d, GlobalAvgPool2d: PyTorch values and gradient checks.

use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

use crate::support::{assert_close, check_layer, conv_fixture, input, nums, tensor};

type X = (Dyn, U3, U7, U6);

fn against_pytorch<L: Layer<X, Cpu64>>(key: &str, mut layer: L) {
    let f = conv_fixture();
    let want = &f["pools"][key];
    let x = tensor::<X>(&[2, 3, 7, 6], &f["pool_x"]);
    let (y, cache) = layer.forward_train(&x);
    let shape: Vec<usize> =
        want["y_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(y.dims(), &shape[..], "{key} shape");
    assert_close(&format!("{key} y"), &y.to_vec(), &nums(&want["y"]), 1e-12, 1e-14);
    assert_close(
        &format!("{key} inference y"),
        &layer.forward(&x).to_vec(),
        &nums(&want["y"]),
        1e-12,
        1e-14,
    );
    let r = Tensor::from_vec(&Cpu64::default(), y.dims(), nums(&want["r"])).unwrap();
    let (dx, _) = layer.backward(&cache, &r).unwrap();
    assert_close(&format!("{key} dx"), &dx.to_vec(), &nums(&want["dx"]), 1e-12, 1e-14);
}

#[test]
fn max_pool2d() {
    against_pytorch("max_k2", MaxPool2d::<U2, U2, U0>::default());
    against_pytorch("max_k3_s2_p1", MaxPool2d::<U3, U2, U1>::default());
    // Away from ties the maximum is differentiable.
    check_layer(
        "MaxPool2d",
        &mut MaxPool2d::<U2, U1, U0>::default(),
        &input::<(Dyn, U2, U5, U4)>(&[2, 2, 5, 4], 60),
    );
}

#[test]
fn avg_pool2d() {
    against_pytorch("avg_k2_s1", AvgPool2d::<U2, U1, U0>::default());
    against_pytorch("avg_k3_s2_p1", AvgPool2d::<U3, U2, U1>::default());
    check_layer(
        "AvgPool2d",
        &mut AvgPool2d::<U3, U2, U1>::default(),
        &input::<(Dyn, U2, U5, U4)>(&[2, 2, 5, 4], 61),
    );
}

#[test]
fn global_avg_pool2d() {
    against_pytorch("global_avg", GlobalAvgPool2d::default());
    check_layer(
        "GlobalAvgPool2d",
        &mut GlobalAvgPool2d::default(),
        &input::<(Dyn, U2, U3, U4)>(&[2, 2, 3, 4], 62),
    );
}

#[test]
fn max_pool_propagates_nan() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, U1, U2, U2), Cpu>::from_vec(
        &dev,
        &[1, 1, 2, 2],
        vec![1.0, f32::NAN, 3.0, 2.0],
    )
    .unwrap();
    assert!(MaxPool2d::<U2, U2, U0>::default().forward(&x).to_vec()[0].is_nan());
}
