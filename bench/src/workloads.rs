//! The workloads W1–W4 and W7 on shapeflow's CPU backend.

use std::time::Instant;

use shapeflow::prelude::*;

use crate::figure::Figure;

/// W2 and W4's MLP: the mnist-mlp example's.
pub use mnist_mlp::Mlp;
/// W7's ResNet: the mnist-resnet example's (a bias-free stem, three residual blocks, max-pool 2
/// after the first and second, global average pooling, a linear head).
pub use mnist_resnet::ResNet as W7ResNet;

model! {
    /// W3's CNN.
    pub struct Cnn {
        input: [1, 28, 28],
        conv1: Conv2d<1, 8, 3>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<8, 16, 3>,
        act2: Relu,
        pool2: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<400, 10>,
    }
}

/// Seconds of each of `reps` runs of `body`, after `warmup` runs.
pub fn times(warmup: usize, reps: usize, mut body: impl FnMut()) -> Vec<f64> {
    for _ in 0..warmup {
        body();
    }
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            body();
            t.elapsed().as_secs_f64()
        })
        .collect()
}

pub fn w1_gemm(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    for n in [512usize, 1024, 2048] {
        let a: Vec<f32> = (0..n * n).map(|i| ((i * 31 % 97) as f32) / 97.0 - 0.5).collect();
        let b: Vec<f32> = (0..n * n).map(|i| ((i * 17 % 89) as f32) / 89.0 - 0.5).collect();
        let ta = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[n, n], a.clone()).expect("sizes");
        let tb = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[n, n], b.clone()).expect("sizes");
        let flops = 2.0 * (n as f64).powi(3);
        let reps = if n >= 2048 { 7 } else { 15 };
        let t = times(3, reps, || {
            std::hint::black_box(ta.matmul(&tb).ok());
        });
        out.push(Figure::new(
            "shapeflow",
            "w1",
            &format!("n{n}"),
            "GFLOP/s",
            t.iter().map(|s| flops / s / 1e9),
        ));
        if n == 1024 {
            let na = ndarray::Array2::from_shape_vec((n, n), a).expect("sizes");
            let nb = ndarray::Array2::from_shape_vec((n, n), b).expect("sizes");
            let t = times(2, 7, || {
                std::hint::black_box(na.dot(&nb));
            });
            out.push(Figure::new(
                "ndarray-dot",
                "w1",
                "n1024",
                "GFLOP/s",
                t.iter().map(|s| flops / s / 1e9),
            ));
        }
    }
}

/// Samples per second of `model`'s training step (forward, cross-entropy, backward, Adam) on
/// `x`, one figure named `workload`.
pub fn train_steps<M, S, B>(
    model: &mut M,
    x: &Tensor<S, B>,
    workload: &str,
    steps: usize,
    out: &mut Vec<Figure>,
) where
    M: Layer<S, B, Output = (Dyn, Const<10>)> + Send,
    S: shapeflow::Shape,
    B: Backend,
{
    let batch = x.batch();
    let mut opt = Adam::new(&*model, AdamConfig::default());
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    // As `fit` runs a step: on the backend's workers (see `Device::on_workers`).
    let t = B::on_workers(|| {
        times(steps / 10, steps, || {
            let (logits, cache) = model.forward_train(x);
            let (_, d) = cross_entropy(&logits, &labels).expect("finite loss");
            let grads = model.backward_params(&cache, &d).expect("backward");
            opt.step(model, &grads).expect("step");
        })
    });
    out.push(Figure::new(
        "shapeflow",
        workload,
        &format!("b{batch}"),
        "samples/s",
        t.iter().map(|s| batch as f64 / s),
    ));
}

pub fn w2_mlp_train(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<784>), Cpu>::rand_uniform(&dev, &[128, 784], 0.0, 1.0, 1)
        .expect("sizes");
    train_steps(&mut Mlp::<Cpu>::new(&dev, 0), &x, "w2", 200, out);
}

pub fn w3_cnn_train(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::rand_uniform(
        &dev,
        &[64, 1, 28, 28],
        0.0,
        1.0,
        1,
    )
    .expect("sizes");
    train_steps(&mut Cnn::<Cpu>::new(&dev, 0), &x, "w3", 200, out);
}

pub fn w4_mlp_inference(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let model = Mlp::<Cpu>::new(&dev, 0);
    let one = Tensor::<(Dyn, Const<784>), Cpu>::rand_uniform(&dev, &[1, 784], 0.0, 1.0, 2)
        .expect("sizes");
    let t = times(200, 2000, || {
        std::hint::black_box(model.forward(&one));
    });
    out.push(Figure::new("shapeflow", "w4", "b1", "us", t.iter().map(|s| s * 1e6)));
    let big = Tensor::<(Dyn, Const<784>), Cpu>::rand_uniform(&dev, &[1024, 784], 0.0, 1.0, 3)
        .expect("sizes");
    let t = times(5, 50, || {
        std::hint::black_box(model.forward(&big));
    });
    out.push(Figure::new("shapeflow", "w4", "b1024", "samples/s", t.iter().map(|s| 1024.0 / s)));
}

pub fn w7_resnet_train(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::rand_uniform(
        &dev,
        &[64, 1, 28, 28],
        0.0,
        1.0,
        1,
    )
    .expect("sizes");
    train_steps(&mut W7ResNet::<Cpu>::new(&dev, 0), &x, "w7", 40, out);
}

model! {
    /// W5's character language model: vocabulary 96, embedding 256, 2-layer LSTM of 256, a
    /// linear head per step.
    pub struct W5CharLm {
        input: [seq],
        emb: Embedding<96, 256>,
        lstm: Lstm<256, 256, num_layers = 2>,
        head: Linear<256, 96>,
    }
}

/// Floating-point operations of one W5 training step (forward and backward; the GEMMs only).
pub fn w5_flops(batch: usize, steps: usize) -> f64 {
    let rows = (batch * steps) as f64;
    let lstm_layer = 2.0 * rows * 1024.0 * (256.0 + 256.0); // x·W_ihᵀ + h·W_hhᵀ
    let head = 2.0 * rows * 256.0 * 96.0;
    3.0 * (2.0 * lstm_layer + head) // forward, and two products each in backward
}

/// W5: a training step of the character LSTM language model on sequences of 128 ids, batch 32,
/// per-step cross-entropy, Adam; sequences/s (and GFLOP/s from [`w5_flops`]).
pub fn w5_char_lm_train(out: &mut Vec<Figure>) {
    let (batch, steps) = (32usize, 128usize);
    let dev = Cpu::default();
    let mut model = W5CharLm::<Cpu>::new(&dev, 0);
    let ids: Vec<f32> = (0..batch * steps).map(|i| ((i * 37 + i / 7) % 96) as f32).collect();
    let x = Tensor::<(Dyn, Dyn), Cpu>::from_vec(&dev, &[batch, steps], ids).expect("sizes");
    let labels: Vec<Vec<usize>> =
        (0..batch).map(|b| (0..steps).map(|t| (b * 5 + t * 3) % 96).collect()).collect();
    let mut opt = Adam::new(&model, AdamConfig::default());
    let t = Cpu::on_workers(|| {
        times(2, 10, || {
            let (logits, cache) = model.forward_train(&x);
            let (_, d) = cross_entropy_steps(&logits, &labels).expect("finite loss");
            let grads = model.backward_params(&cache, &d).expect("backward");
            opt.step(&mut model, &grads).expect("step");
        })
    });
    let flops = w5_flops(batch, steps);
    out.push(Figure::new(
        "shapeflow",
        "w5",
        "b32",
        "sequences/s",
        t.iter().map(|s| batch as f64 / s),
    ));
    out.push(Figure::new("shapeflow", "w5", "b32", "GFLOP/s", t.iter().map(|s| flops / s / 1e9)));
}

model! {
    /// W6's encoder layer: PyTorch's post-norm `nn.TransformerEncoderLayer(256, 4,
    /// dim_feedforward = 1024, dropout = 0, activation = "gelu")`.
    pub struct W6Layer {
        input x: [seq, 256],
        self_attn: MultiheadAttention<256, 4>,
        sum1: Add(x, self_attn),
        norm1: LayerNorm<256>,
        linear1: Linear<256, 1024>,
        act: Gelu,
        linear2: Linear<1024, 256>,
        sum2: Add(norm1, linear2),
        norm2: LayerNorm<256>,
    }

    /// W6: two encoder layers, mean-pooled, a linear head to 10 classes.
    pub struct W6Encoder {
        input: [seq, 256],
        layers: (W6Layer, W6Layer),
        pool: MeanOverTime,
        head: Linear<256, 10>,
    }
}

/// Floating-point operations of one W6 training step (matrix products only).
pub fn w6_flops(batch: usize, steps: usize) -> f64 {
    let (rows, e, t) = ((batch * steps) as f64, 256.0, steps as f64);
    let proj = 2.0 * rows * e * (3.0 * e + e); // in_proj and out_proj
    let scores = 2.0 * 2.0 * rows * t * e; // q·kᵀ and attn·v over all heads
    let ff = 2.0 * 2.0 * rows * e * 1024.0;
    3.0 * 2.0 * (proj + scores + ff)
}

/// W6: a training step of a 2-layer transformer encoder (width 256, 4 heads, feed-forward 1024,
/// GELU) on 16 sequences of 128 steps, mean-pooled, cross-entropy, Adam; sequences/s.
pub fn w6_transformer_train(out: &mut Vec<Figure>) {
    let (batch, steps) = (16usize, 128usize);
    let dev = Cpu::default();
    let mut model = W6Encoder::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Dyn, Const<256>), Cpu>::randn(&dev, &[batch, steps, 256], 0.0, 1.0, 1)
        .expect("sizes");
    let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
    let mut opt = Adam::new(&model, AdamConfig::default());
    let t = Cpu::on_workers(|| {
        times(2, 10, || {
            let (logits, cache) = model.forward_train(&x);
            let (_, d) = cross_entropy(&logits, &labels).expect("finite loss");
            let grads = model.backward_params(&cache, &d).expect("backward");
            opt.step(&mut model, &grads).expect("step");
        })
    });
    let flops = w6_flops(batch, steps);
    out.push(Figure::new(
        "shapeflow",
        "w6",
        "b16",
        "sequences/s",
        t.iter().map(|s| batch as f64 / s),
    ));
    out.push(Figure::new("shapeflow", "w6", "b16", "GFLOP/s", t.iter().map(|s| flops / s / 1e9)));
}

/// Prompt and total length of a `decode` run: 112 characters after a 16-character prompt, to
/// the position table's end.
pub const DECODE_PROMPT: usize = 16;
pub const DECODE_TOTAL: usize = 128;

/// `decode`: next-character latency of char-lm's transformer (width 128, 4 heads, 2 pre-norm
/// blocks, causal) sampling one sequence, with the key/value cache: the prompt once, then one
/// step of every layer per character (`per-char`), and recomputing the prefix per character
/// (`recompute`). µs per character, each run's mean over its 112 steps.
pub fn decode_latency(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let model = char_lm::CharTransformer::<Cpu>::new(&dev, 0);
    let ids: Vec<usize> = (0..DECODE_TOTAL).map(|i| (i * 37 + 11) % 96).collect();
    let t = times(2, 10, || {
        let mut decoder = char_lm::Decoder::new(&model);
        decoder.feed(&dev, &ids[..DECODE_PROMPT]).expect("prompt");
        for t in DECODE_PROMPT..DECODE_TOTAL {
            std::hint::black_box(decoder.feed(&dev, &ids[t..t + 1]).expect("step"));
        }
    });
    let steps = (DECODE_TOTAL - DECODE_PROMPT) as f64;
    out.push(Figure::new(
        "shapeflow",
        "decode",
        "per-char",
        "us",
        t.iter().map(|s| s * 1e6 / steps),
    ));
    // The same model recomputing the whole prefix for every character (what `sample` did).
    let t = times(1, 3, || {
        for t in DECODE_PROMPT..DECODE_TOTAL {
            let x = Tensor::<(Dyn, Dyn), Cpu>::from_sequences(
                &dev,
                &[ids[..=t].iter().map(|&c| c as f32).collect::<Vec<_>>()],
            )
            .expect("ids");
            std::hint::black_box(model.forward(&x));
        }
    });
    out.push(Figure::new(
        "shapeflow",
        "decode",
        "recompute",
        "us",
        t.iter().map(|s| s * 1e6 / steps),
    ));
}
