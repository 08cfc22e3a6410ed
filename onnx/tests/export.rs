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

model! {
    /// Causal self-attention with rotary embeddings and a fixed-position table.
    pub struct Rotary {
        input: [seq, 8],
        attn: MultiheadAttention<8, 2, causal = true, rope = true>,
        norm: RmsNorm<8>,
        fc: Linear<8, 3>,
    }

    /// A decoder layer over two sequences of their own lengths: cross-attention from the
    /// targets to the memory.
    pub struct Decoder {
        input tgt: [seq, 8],
        input memory: [seq, 8],
        self_attn: MultiheadAttention<8, 2, causal = true>(tgt),
        sum1: Add(tgt, self_attn),
        norm1: LayerNorm<8>,
        cross: CrossAttention<8, 2>(norm1, memory),
        sum2: Add(norm1, cross),
        pool: MeanOverTime,
        output pool
    }
}

#[test]
fn cross_attention_over_a_second_sequence_matches_in_onnx_runtime() {
    let dev = Cpu::default();
    let model = Decoder::<Cpu>::new(&dev, 11);
    let path = support::scratch("decoder").join("decoder.onnx");
    shapeflow::onnx::export(&model, &path).unwrap();
    if !support::onnx_runtime_available() {
        return;
    }
    let (tgt_lens, mem_lens) = ([3usize, 5, 1], [6usize, 2, 4]);
    let make = |lens: &[usize], seed: usize| -> (Vec<Vec<f32>>, Vec<f64>, usize) {
        let samples: Vec<Vec<f32>> =
            lens.iter().enumerate().map(|(b, &l)| support::inputs(l * 8, seed + b)).collect();
        let steps = *lens.iter().max().unwrap();
        let padded = samples
            .iter()
            .flat_map(|s| {
                let mut r: Vec<f64> = s.iter().map(|&v| v as f64).collect();
                r.resize(steps * 8, 0.0);
                r
            })
            .collect();
        (samples, padded, steps)
    };
    let (tgt, tgt_padded, tgt_steps) = make(&tgt_lens, 1);
    let (mem, mem_padded, mem_steps) = make(&mem_lens, 7);
    let t = Tensor::<(Dyn, Dyn, Const<8>), Cpu>::from_sequences(&dev, &tgt).unwrap();
    let m = Tensor::<(Dyn, Dyn, Const<8>), Cpu>::from_sequences(&dev, &mem).unwrap();
    let want = model.forward(&t, &m);
    let lens = |l: &[usize]| l.iter().map(|&v| v as f64).collect::<Vec<_>>();
    let feeds = [
        ("tgt", vec![3, tgt_steps, 8], tgt_padded, "float32"),
        ("memory", vec![3, mem_steps, 8], mem_padded, "float32"),
        ("tgt_lengths", vec![3], lens(&tgt_lens), "int64"),
        ("memory_lengths", vec![3], lens(&mem_lens), "int64"),
    ];
    let (shape, got) = support::run_onnx(&path, &feeds);
    assert_eq!(shape, want.dims());
    support::compare("decoder", 3, &want.to_vec(), &got, |_| false);
}

#[test]
fn a_model_with_every_exported_kind_matches_in_onnx_runtime() {
    let dev = Cpu::default();
    check_model("images", &mut Images::<Cpu>::new(&dev, 7));
    check_model("signals", &mut Signals::<Cpu>::new(&dev, 8));
    support::check_sequence_model("recurrents", &Recurrents::<Cpu>::new(&dev, 9), 6, None);
    support::check_sequence_model("rotary", &Rotary::<Cpu>::new(&dev, 10), 8, None);
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
