//! Convolutional models from the DSL: shapes, summary, gradient check, the 8-conv 224×224 case.

use shapeflow::prelude::*;

use crate::support::{check_layer_train, input};

model! {
    /// LeNet-style digit classifier.
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 6, 5, padding = 2>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<6, 16, 5>,
        act2: Relu,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc1: Linear<400, 120>,
        act3: Relu,
        fc2: Linear<120, 10>,
    }
}

#[test]
fn lenet_shapes_and_summary() {
    let m = LeNet::<Cpu>::new(&Cpu::default(), 0);
    let s = m.summary();
    let outs: Vec<&str> = s.rows.iter().map(|r| r.output.as_str()).collect();
    assert_eq!(
        outs,
        [
            "[batch, 6, 28, 28]",
            "[batch, 6, 28, 28]",
            "[batch, 6, 14, 14]",
            "[batch, 16, 10, 10]",
            "[batch, 16, 10, 10]",
            "[batch, 16, 5, 5]",
            "[batch, 400]",
            "[batch, 120]",
            "[batch, 120]",
            "[batch, 10]"
        ]
    );
    assert_eq!(s.rows[0].kind, "Conv2d<1, 6, 5, padding = 2>");
    assert_eq!(m.num_params(), 156 + 2416 + 48120 + 1210);
    assert_eq!(m.param_names()[..2], ["conv1.weight".to_string(), "conv1.bias".to_string()]);
    assert_eq!(m.conv1.weight.dims(), &[6, 1, 5, 5]);
}

model! {
    /// Every convolutional layer kind, small enough for a finite-difference check in f64.
    struct SmallCnn {
        input: [2, 7, 6],
        conv1: Conv2d<2, 3, 3, stride = 2, padding = 1>,
        bn1: BatchNorm2d<3>,
        act1: Tanh,
        conv2: Conv2d<3, 4, 2, dilation = 2, padding = 1>,
        pool: AvgPool2d<2, stride = 1>,
        mp: MaxPool2d<2, stride = 1, padding = 1>,
        gap: GlobalAvgPool2d,
        bn2: BatchNorm1d<4>,
        fc: Linear<4, 3>,
    }
}

#[test]
fn small_cnn_gradient_check() {
    let dev = Cpu64::default();
    let mut m = SmallCnn::<Cpu64>::new(&dev, 1);
    let x = input::<(Dyn, Const<2>, Const<7>, Const<6>)>(&[3, 2, 7, 6], 40);
    assert_eq!(m.forward(&x).dims(), &[3, 3]);
    // Training mode: batch norm normalises with the batch's statistics.
    check_layer_train("SmallCnn", &mut m, &x);
}

model! {
    /// Eight convolutions on a 224×224 RGB image.
    pub struct Deep224 {
        input: [3, 224, 224],
        c1: Conv2d<3, 8, 3, padding = 1>,
        r1: Relu,
        c2: Conv2d<8, 8, 3, stride = 2, padding = 1>,
        r2: Relu,
        c3: Conv2d<8, 16, 3, padding = 1>,
        r3: Relu,
        c4: Conv2d<16, 16, 3, stride = 2, padding = 1>,
        p1: MaxPool2d<2>,
        c5: Conv2d<16, 32, 3, padding = 1>,
        r5: Relu,
        c6: Conv2d<32, 32, 3, stride = 2, padding = 1>,
        c7: Conv2d<32, 64, 3, padding = 1>,
        bn: BatchNorm2d<64>,
        c8: Conv2d<64, 64, 3, stride = 2, padding = 1>,
        flat: Flatten,
        fc: Linear<3136, 10>,
    }
}

#[test]
fn eight_conv_224_model_type_checks_and_runs() {
    let dev = Cpu::default();
    let m = Deep224::<Cpu>::new(&dev, 0);
    let s = m.summary();
    println!("{s}");
    assert_eq!(s.rows.len(), 16);
    assert_eq!(s.rows[13].output, "[batch, 64, 7, 7]");
    assert_eq!(s.rows[14].output, "[batch, 3136]");
    let x = Deep224Input::<Cpu>::zeros(&dev, &[1, 3, 224, 224]).unwrap();
    assert_eq!(m.forward(&x).dims(), &[1, 10]);
}

model! {
    /// A `Conv1d` first, for the parameters-only backward below.
    struct Wave {
        input: [2, 16],
        conv: Conv1d<2, 3, 5, stride = 2>,
        act: Relu,
        flat: Flatten,
        fc: Linear<18, 4>,
    }
}

/// Every parameter of two gradient values, by name.
fn param_values<M: Module<Cpu64>>(m: &M) -> Vec<(String, Vec<f64>)> {
    let mut out = Vec::new();
    m.visit_params(&mut String::new(), &mut |name, _, buf| {
        out.push((name.to_string(), buf.to_vec()))
    });
    out
}

/// A model's `backward` computes no input gradient for its first layer (`backward_params`: one
/// product less for `Linear`, no col2im for a convolution) and must give exactly the gradients
/// of the full `Layer::backward`.
#[test]
fn backward_without_the_input_gradient_gives_the_same_parameter_gradients() {
    let dev = Cpu64::default();
    let mut lenet = LeNet::<Cpu64>::new(&dev, 3);
    let x = input::<(Dyn, Const<1>, Const<28>, Const<28>)>(&[2, 1, 28, 28], 41);
    let (y, cache) = lenet.forward_train(&x);
    let dy = y.ones_like();
    let fast = lenet.backward(&cache, &dy).unwrap();
    let (_, full) =
        Layer::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu64>::backward(&lenet, &cache, &dy)
            .unwrap();
    assert_eq!(param_values(&fast), param_values(&full));

    let mut wave = Wave::<Cpu64>::new(&dev, 4);
    let x = input::<(Dyn, Const<2>, Const<16>)>(&[3, 2, 16], 42);
    let (y, cache) = wave.forward_train(&x);
    let dy = y.ones_like();
    let fast = wave.backward(&cache, &dy).unwrap();
    let (_, full) =
        Layer::<(Dyn, Const<2>, Const<16>), Cpu64>::backward(&wave, &cache, &dy).unwrap();
    assert_eq!(param_values(&fast), param_values(&full));
}
