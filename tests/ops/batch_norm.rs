//! BatchNorm1d / BatchNorm2d: PyTorch values in train and eval mode, running statistics,
//! gradient checks (training mode, batch statistics).

use shapeflow::prelude::*;

use crate::support::{
    assert_close, check_layer, check_layer_train, conv_fixture, input, nums, tensor,
};

fn against_pytorch<S: Shape, C: shapeflow::StaticDim>(key: &str, sizes: &[usize])
where
    BatchNorm<C, Cpu64>: Layer<S, Cpu64, Output = S>,
{
    let f = conv_fixture();
    let want = &f[key];
    let mut bn = BatchNorm::<C, Cpu64>::init(&Cpu64::default(), &mut Rng::new(0));
    bn.weight = tensor(&[C::N], &want["weight"]);
    bn.bias = tensor(&[C::N], &want["bias"]);
    let x = tensor::<S>(sizes, &want["x"]);
    let (y, cache) = bn.forward_train(&x);
    assert_close(&format!("{key} y"), &y.to_vec(), &nums(&want["y"]), 1e-10, 1e-12);
    assert_close(
        &format!("{key} running_mean"),
        &bn.running_mean.to_vec(),
        &nums(&want["running_mean"]),
        1e-10,
        1e-12,
    );
    assert_close(
        &format!("{key} running_var"),
        &bn.running_var.to_vec(),
        &nums(&want["running_var"]),
        1e-10,
        1e-12,
    );
    assert_eq!(bn.num_batches_tracked, 1);
    let r = Tensor::from_vec(&Cpu64::default(), sizes, nums(&want["r"])).unwrap();
    let (dx, g) = bn.backward(&cache, &r).unwrap();
    assert_close(&format!("{key} dx"), &dx.to_vec(), &nums(&want["dx"]), 1e-9, 1e-11);
    assert_close(
        &format!("{key} dweight"),
        &g.weight.to_vec(),
        &nums(&want["dweight"]),
        1e-10,
        1e-12,
    );
    assert_close(&format!("{key} dbias"), &g.bias.to_vec(), &nums(&want["dbias"]), 1e-10, 1e-12);
    assert_close(
        &format!("{key} eval y"),
        &bn.forward(&x).to_vec(),
        &nums(&want["y_eval"]),
        1e-10,
        1e-12,
    );
}

#[test]
fn batch_norm2d_matches_pytorch() {
    against_pytorch::<(Dyn, Const<3>, Const<5>, Const<5>), Const<3>>("batch_norm2d", &[4, 3, 5, 5]);
}

#[test]
fn batch_norm1d_matches_pytorch() {
    against_pytorch::<(Dyn, Const<4>), Const<4>>("batch_norm1d", &[6, 4]);
}

#[test]
fn batch_norm_gradient_checks() {
    let dev = Cpu64::default();
    let mut bn = BatchNorm2d::<Const<3>, Cpu64>::init(&dev, &mut Rng::new(0));
    bn.weight = Tensor::from_vec(&dev, &[3], vec![0.5, 2.0, -1.0]).unwrap();
    bn.bias = Tensor::from_vec(&dev, &[3], vec![0.1, 0.2, 0.3]).unwrap();
    check_layer_train(
        "BatchNorm2d train",
        &mut bn,
        &input::<(Dyn, Const<3>, Const<2>, Const<3>)>(&[3, 3, 2, 3], 70),
    );
    let mut bn1 = BatchNorm1d::<Const<4>, Cpu64>::init(&dev, &mut Rng::new(0));
    check_layer_train("BatchNorm1d train", &mut bn1, &input::<(Dyn, Const<4>)>(&[5, 4], 71));
    let mut bn3 = BatchNorm1d::<Const<2>, Cpu64>::init(&dev, &mut Rng::new(0));
    check_layer_train(
        "BatchNorm1d [N, C, L] train",
        &mut bn3,
        &input::<(Dyn, Const<2>, Const<3>)>(&[2, 2, 3], 72),
    );
}

#[test]
fn batch_norm_eval_uses_running_statistics() {
    let dev = Cpu64::default();
    let mut bn = BatchNorm1d::<Const<2>, Cpu64>::with_config(&dev, 0.0, 0.1);
    bn.running_mean = Tensor::from_vec(&dev, &[2], vec![1.0, -1.0]).unwrap();
    bn.running_var = Tensor::from_vec(&dev, &[2], vec![4.0, 0.25]).unwrap();
    let x = Tensor::<(Dyn, Const<2>), Cpu64>::from_batch(&dev, 1, vec![3.0, 0.0]).unwrap();
    assert_eq!(bn.forward(&x).to_vec(), vec![1.0, 2.0]);
    // Inference is an affine map: its gradient check in eval mode.
    check_layer(
        "BatchNorm1d eval (affine)",
        &mut Linear::<Const<2>, Const<2>, Cpu64>::init(&dev, &mut Rng::new(0)),
        &input::<(Dyn, Const<2>)>(&[2, 2], 73),
    );
}
