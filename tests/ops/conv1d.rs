//! Conv1d: PyTorch values (stride 2, padding 1) and a gradient check.

use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

use crate::support::{assert_close, check_layer, conv_fixture, input, nums, tensor};

type X = (Dyn, U3, U9);

#[test]
fn conv1d_matches_pytorch() {
    let f = conv_fixture();
    let c = &f["conv1d"];
    let mut conv =
        Conv1d::<U3, U4, U3, Cpu64, U2, U1, U1>::init(&Cpu64::default(), &mut Rng::new(0));
    conv.weight = tensor(&[4, 3, 3], &c["w"]);
    conv.bias = Some(tensor(&[4], &c["b"]));
    let x = tensor::<X>(&[2, 3, 9], &c["x"]);
    let (y, cache) = conv.forward_train(&x);
    assert_eq!(y.dims(), &[2, 4, 5]);
    assert_close("conv1d y", &y.to_vec(), &nums(&c["y"]), 1e-10, 1e-12);
    let r = Tensor::from_vec(&Cpu64::default(), y.dims(), nums(&c["r"])).unwrap();
    let (dx, g) = Layer::<X, Cpu64>::backward(&conv, &cache, &r).unwrap();
    assert_close("conv1d dx", &dx.to_vec(), &nums(&c["dx"]), 1e-10, 1e-12);
    assert_close("conv1d dw", &g.weight.to_vec(), &nums(&c["dw"]), 1e-10, 1e-12);
    assert_close("conv1d db", &g.bias.as_ref().unwrap().to_vec(), &nums(&c["db"]), 1e-10, 1e-12);
}

#[test]
fn conv1d_gradient_check() {
    let mut c = Conv1d::<U2, U3, U3, Cpu64, U1, U2, U2>::init(&Cpu64::default(), &mut Rng::new(4));
    check_layer("Conv1d", &mut c, &input::<(Dyn, U2, U7)>(&[2, 2, 7], 52));
}
