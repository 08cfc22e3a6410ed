//! The backend's size contract: every family method refuses buffers shorter than its geometry
//! (and indices or sequence lengths out of range) before any kernel runs, with a message naming
//! the method and the buffer. One test per family; the passing twins are every other test of
//! the suite, which call the same methods with the sizes the layers compute.

use std::panic::{UnwindSafe, catch_unwind};

use shapeflow::backend::*;
use shapeflow::{Cpu, Dims};
use shapeflow_cpu::CpuBuf;

/// The panic message of `f`, which must panic.
fn refusal(f: impl FnOnce() + UnwindSafe) -> String {
    let err = catch_unwind(f).expect_err("the call should have been refused");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

/// Asserts that `f` is refused with a message starting `method: `buf``.
#[track_caller]
fn refused(method: &str, buf: &str, f: impl FnOnce() + UnwindSafe) {
    let msg = refusal(f);
    let start = format!("{method}: `{buf}`");
    assert!(msg.starts_with(&start), "expected `{start}…`, got: {msg}");
}

fn buf(n: usize) -> CpuBuf<f32> {
    Cpu::default().upload(&vec![0.5; n])
}

#[test]
fn linalg_refuses_short_operands_and_overflowing_counts() {
    refused("Linalg::matmul", "a", || {
        Cpu::matmul(&buf(5), &buf(3), &mut buf(2), Gemm::new(2, 3, 1))
    });
    refused("Linalg::matmul", "c", || {
        Cpu::matmul(&buf(6), &buf(3), &mut buf(1), Gemm::new(2, 3, 1))
    });
    let g = Gemm::new(1 << 62, 8, 1);
    let msg = refusal(|| Cpu::matmul(&buf(1), &buf(8), &mut buf(1), g));
    assert!(msg.contains("a count that overflows usize"), "{msg}");
    refused("Linalg::matmul_batched", "b", || {
        Cpu::matmul_batched(&buf(12), &buf(5), &mut buf(8), Gemm::new(2, 3, 1), 2)
    });
    let blocks = Blocks { batch: 1, rows: 2, cols: 3, inner: 2 };
    refused("Linalg::transpose_blocks", "y", || {
        Cpu::transpose_blocks(&buf(12), &mut buf(11), blocks)
    });
    refused("Linalg::add_channel_bias", "bias", || {
        Cpu::add_channel_bias(&mut buf(12), &buf(2), Channels { outer: 2, channels: 3, inner: 2 })
    });
    refused("Linalg::sum_rows", "x", || Cpu::sum_rows(&buf(5), &mut buf(3), 2, 3));
    let j = Joined { rows: 2, left: 2, right: 1 };
    refused("Linalg::concat_rows", "y", || Cpu::concat_rows(&buf(4), &buf(2), &mut buf(5), j));
}

#[test]
fn elementwise_operands_must_have_equal_lengths() {
    let msg = refusal(|| Cpu::mul(&buf(4), &buf(3), &mut buf(4)));
    assert_eq!(
        msg,
        "Elementwise::mul: `b` holds 3 values, the call needs exactly 4 (the backend's size \
         contract: tensor ops and layers size every buffer from its shape; a direct call must too)"
    );
    refused("Elementwise::activation", "y", || {
        Cpu::activation(Activation::Relu, &buf(4), &mut buf(3))
    });
    refused("Elementwise::axpy", "y", || Cpu::axpy(1.0, &buf(4), &mut buf(5)));
    refused("Elementwise::mul_rows_broadcast", "m", || {
        Cpu::mul_rows_broadcast(&buf(6), &buf(1), &mut buf(6), 2, 3)
    });
}

#[test]
fn rows_refuse_short_buffers_and_labels_out_of_range() {
    refused("Rows::softmax_rows", "y", || Cpu::softmax_rows(&buf(6), &mut buf(5), 2, 3));
    let msg = refusal(|| {
        Cpu::nll_sum(&buf(6), &[0, 3], 2, 3);
    });
    assert!(msg.starts_with("Rows::nll_sum: `labels[1]` is 3, outside 0..3"), "{msg}");
    let msg = refusal(|| Cpu::softmax_minus_onehot(&buf(6), &[0], &mut buf(6), 2, 3, 1.0));
    assert!(msg.starts_with("Rows::softmax_minus_onehot: `labels` holds 1 indices"), "{msg}");
    refused("Rows::bce_with_logits", "t", || {
        Cpu::bce_with_logits(&buf(4), &buf(2), &mut buf(4), 1.0);
    });
}

#[test]
fn norm_refuses_short_statistics() {
    let g = BatchNormGeom { shape: Channels { outer: 2, channels: 3, inner: 4 }, eps: 1e-5 };
    let (x, mean, var, gamma, beta) = (buf(24), buf(3), buf(2), buf(3), buf(3));
    refused("Norm::batch_norm_apply", "stats.var", || {
        Cpu::batch_norm_apply(
            &x,
            Moments { mean: &mean, var: &var },
            &gamma,
            &beta,
            &mut buf(24),
            g,
        )
    });
    let rn = RowNorm { rows: 4, cols: 3, eps: 1e-5 };
    refused("Norm::layer_norm", "gamma", || {
        let (mut m, mut v) = (buf(4), buf(4));
        let stats = RowStatsMut { mean: &mut m, var: &mut v };
        Cpu::layer_norm(&buf(12), Some((&buf(2), &buf(3))), &mut buf(12), stats, rn)
    });
}

#[test]
fn conv_and_pool_refuse_short_images() {
    let w = Window2d::new([1, 2, 5, 5], [3, 3], [1, 1], [0, 0], [1, 1]).unwrap();
    refused("Conv::im2col", "x", || Cpu::im2col(&buf(49), &mut buf(2 * 9 * 9), w));
    let g = ConvGeom { window: w, out_channels: 4 };
    refused("Conv::conv2d", "weight", || Cpu::conv2d(&buf(50), &buf(71), &mut buf(36), g));
    let p = Window2d::new([1, 2, 4, 4], [2, 2], [2, 2], [0, 0], [1, 1]).unwrap();
    refused("Pool::max_pool2d", "argmax", || {
        Cpu::max_pool2d(&buf(32), &mut buf(8), &mut buf(7), p)
    });
    refused("Pool::avg_pool2d_backward", "dx", || {
        Cpu::avg_pool2d_backward(&buf(8), &mut buf(31), p)
    });
}

#[test]
fn sequence_refuses_short_steps_ids_and_lengths() {
    let g = StepBatch { batch: 2, steps: 3, width: 4 };
    let msg = refusal(|| Cpu::mean_steps(&buf(24), &mut buf(8), &[3, 4], g));
    assert!(
        msg.starts_with("Sequence::mean_steps: `lengths[1]` is 4, longer than the 3 steps"),
        "{msg}"
    );
    refused("Sequence::reverse_steps", "y", || {
        Cpu::reverse_steps(&buf(24), &mut buf(23), &[3, 1], g)
    });
    // An id past the table is refused; `usize::MAX` (an id the caller found invalid) is allowed.
    let msg = refusal(|| Cpu::gather_rows(&buf(8), &[0, 2], &mut buf(8), 4));
    assert!(msg.starts_with("Sequence::gather_rows: `rows[1]` is 2, outside 0..2"), "{msg}");
    Cpu::gather_rows(&buf(8), &[1, usize::MAX], &mut buf(8), 4);
    let step = RecurrentStep { step: 2, batch: 2, hidden: 3 };
    refused("Sequence::rnn_step", "pre", || {
        let (mut h, mut y, mut out, mut hp) = (buf(6), buf(18), buf(18), buf(18));
        Cpu::rnn_step(
            step,
            RnnActivation::Tanh,
            &buf(12),
            &buf(6),
            &buf(2),
            RnnStepMut { h: &mut h, y: &mut y, out: &mut out, h_prev: &mut hp },
        )
    });
    let mask = ScoreMask { batch: 2, heads: 1, queries: 3, keys: 3, causal: false };
    refused("Sequence::mask_scores", "scores", || Cpu::mask_scores(&mut buf(17), &[3, 3], mask));
}

#[test]
fn attention_and_optimizers_refuse_short_buffers() {
    let g = AttentionGeom { batch: 1, steps: 2, heads: 2, head: 2, causal: false };
    refused("Attention::attention_forward", "qkv", || {
        Cpu::attention_forward(&buf(23), &[], &mut buf(8), &mut buf(8), g)
    });
    let hp = AdamStep {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decoupled: false,
        step: 1,
    };
    refused("Optim::adam_step", "v", || {
        Cpu::adam_step(&mut buf(4), &buf(4), &mut buf(4), &mut buf(3), hp)
    });
}

#[test]
fn strided_views_must_fit_their_buffers() {
    let dims = Dims::new(&[2, 3]).unwrap();
    let view = View::contiguous(&dims);
    refused("Strided::binary", "b.0", || {
        Cpu::binary(BinaryOp::Add, (&buf(6), view), (&buf(5), view), &mut buf(6), &dims)
    });
    refused("Strided::unary", "y", || Cpu::unary(UnaryOp::Exp, &buf(6), &mut buf(5)));
    let around = Around { outer: 2, n: 3, inner: 1 };
    let msg = refusal(|| Cpu::gather(&buf(6), around, &[0, 3], 1, &mut buf(2)));
    assert!(msg.starts_with("Strided::gather: `idx[1]` is 3, outside 0..3"), "{msg}");
    refused("Strided::reduce", "out", || Cpu::reduce(ReduceOp::Sum, &buf(6), around, &mut buf(1)));
}
