//! Every example model and a model with every exported kind, run in ONNX Runtime after the
//! `onnx` checker, at batch sizes 1 and 5, against shapeflow's outputs.

mod support;

use shapeflow::prelude::*;
use support::check_model;

#[test]
fn the_example_models_match_in_onnx_runtime() {
    let dev = Cpu::default();
    check_model("mnist-mlp", &mut mnist_mlp::Mlp::<Cpu>::new(&dev, 1));
    check_model("mnist-cnn", &mut mnist_cnn::LeNet::<Cpu>::new(&dev, 2));
    check_model("mnist-resnet", &mut mnist_resnet::ResNet::<Cpu>::new(&dev, 3));
    check_model("mnist-gan-generator", &mut mnist_gan::Generator::<Cpu>::new(&dev, 4));
    check_model("mnist-gan-discriminator", &mut mnist_gan::Discriminator::<Cpu>::new(&dev, 5));
}

model! {
    /// A block used twice in a sequence, with a residual subtraction and a product.
    pub struct Gate {
        input x: [6, _, _],
        conv: Conv2d<6, 6, 3, padding = 1, bias = false>,
        bn: BatchNorm2d<6>,
        sig: Sigmoid,
        gated: Mul(x, sig),
        diff: Sub(x, gated),
    }

    /// Image kinds: convolutions with stride, dilation and padding, both pools, concatenation,
    /// narrowing, the blocks, every activation, dropout, batch norm, layer norm, RMS norm.
    pub struct Images {
        input: [2, 12, 12],
        conv_a: Conv2d<2, 4, 3, padding = 1>,
        act_a: LeakyRelu<0.1>,
        conv_b: Conv2d<2, 2, 3, padding = 2, dilation = 2>(input),
        act_b: Tanh,
        cat: Concat(act_a, act_b),
        blocks: (Gate, Gate),
        drop2d: Dropout2d<0.3>,
        avg: AvgPool2d<3, stride = 2, padding = 1>,
        conv_c: Conv2d<6, 8, 3, padding = 1>,
        max: MaxPool2d<2>,
        flat: Flatten,
        first: Narrow<0, 16>,
        fc: Linear<16, 32, bias = false>,
        bn: BatchNorm1d<32>,
        gelu: Gelu,
        ln: LayerNorm<32>,
        fc2: Linear<32, 16>,
        gelu_tanh: GeluTanh,
        rms: RmsNorm<16>,
        drop: Dropout<0.5>,
        relu: Relu,
        fc3: Linear<16, 5>,
        soft: LogSoftmax,
    }

    /// A 1-d convolution, a shared layer and a global average pool.
    pub struct Signals {
        input: [3, 20],
        conv1: Conv1d<3, 4, 5, padding = 2>,
        act1: Relu,
        conv2: Conv1d<4, 4, 3, stride = 2, padding = 1>,
        act2: Sigmoid,
        conv3: conv2(act2),
        flat: Flatten,
        fc: Linear<20, 3>,
        out: Softmax,
    }
}

model! {
    /// The other recurrent kinds, stacked and bidirectional, fixed positions and the last step.
    pub struct Recurrents {
        input: [seq, 6],
        gru: Gru<6, 8, num_layers = 2, bidirectional = true>,
        rnn: Rnn<16, 5>,
        rnn_relu: RnnRelu<5, 4>,
        sin: SinusoidalPositions,
        last: LastStep,
        fc: Linear<4, 3>,
    }
}

#[test]
fn a_model_with_every_exported_kind_matches_in_onnx_runtime() {
    let dev = Cpu::default();
    check_model("images", &mut Images::<Cpu>::new(&dev, 7));
    check_model("signals", &mut Signals::<Cpu>::new(&dev, 8));
    support::check_sequence_model("recurrents", &Recurrents::<Cpu>::new(&dev, 9), 6, None);
}

#[test]
fn the_sequence_examples_match_in_onnx_runtime_on_ragged_batches() {
    let dev = Cpu::default();
    support::check_sequence_model("vowels-lstm", &vowels::VowelNet::<Cpu>::new(&dev, 1), 12, None);
    support::check_sequence_model(
        "vowels-transformer",
        &vowels::VowelTransformer::<Cpu>::new(&dev, 2),
        12,
        None,
    );
    support::check_sequence_model(
        "char-lm-lstm",
        &char_lm::CharLm::<Cpu>::new(&dev, 3),
        1,
        Some(96),
    );
    support::check_sequence_model(
        "char-lm-transformer",
        &char_lm::CharTransformer::<Cpu>::new(&dev, 4),
        1,
        Some(96),
    );
}
