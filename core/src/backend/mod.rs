//! The backend: a device handle plus the primitive kernels every layer, loss and optimizer is
//! written against, grouped in op families, one file each. [`Backend`] is their union, with a
//! blanket impl: a type that implements every family is a backend.
//!
//! | family | file | holds |
//! |---|---|---|
//! | [`Device`] | `device.rs` | element and storage types, memory, transfers, `on_workers` |
//! | [`Linalg`] | `linalg.rs` | matrix products ([`Gemm`]), block transposes, bias broadcasts |
//! | [`Elementwise`] | `elementwise.rs` | activations, arithmetic, sums, dropout masks |
//! | [`Rows`] | `rows.rs` | softmax and log-softmax per row, classification losses |
//! | [`Conv`] | `conv.rs` | im2col / col2im over a [`Window2d`], the convolution products |
//! | [`Pool`] | `pool.rs` | max and average pooling |
//! | [`Norm`] | `norm.rs` | batch norm ([`BatchNormGeom`]) and layer norm ([`RowNorm`]) |
//! | [`Optim`] | `optim.rs` | fused SGD, Adam, RMSprop, Adagrad updates |
//! | [`Sequence`] | `sequence.rs` | recurrent steps, step reversal, row gathers, means over time |
//! | [`Attention`] | `attention.rs` | scaled dot-product self-attention over packed heads |
//! | [`Strided`] | `strided.rs` | the tensor op set's kernels: elementwise ([`UnaryOp`]), broadcast binary ([`BinaryOp`]), select, reductions along an axis ([`ReduceOp`]), strided copies, gathers |
//!
//! Storage is a flat, contiguous, row-major buffer; kernels take descriptor structs for their
//! sizes. Each method that takes buffers checks them against its descriptor in one place
//! ([`contract`]) and then calls the backend's `unsafe fn <method>_unchecked`, which is what a
//! backend implements: no safe call reaches a kernel with buffers shorter than its sizes. Methods with default bodies (`add_bias`, `sum_rows`, `sum_squares`,
//! `neg_onehot`, `layer_norm`, `layer_norm_backward`, `sgd_step`) are composed from the others; a backend overrides them for speed. The CPU
//! backend lives in `shapeflow-cpu`, the CUDA one in `shapeflow-cuda`, each implementing each
//! family in a file named for it.

mod attention;
pub mod contract;
mod conv;
mod device;
mod elem;
mod elementwise;
mod linalg;
mod norm;
mod optim;
mod pool;
mod rows;
mod scalar_ops;
mod sequence;
mod sequence_descriptors;
mod strided;
pub mod strided_host;

pub use attention::{
    Attention, AttentionGeom, attention_backward_composed, attention_forward_composed, split_heads,
    swap_heads,
};
pub use conv::{Conv, ConvGeom, ConvGrads, Window2d, conv2d_backward_composed, conv2d_composed};
pub use device::Device;
pub use elem::Elem;
pub use elementwise::{Activation, Elementwise};
pub use linalg::{Blocks, Channels, Gemm, Joined, Linalg};
pub use norm::{
    BatchNormGeom, BatchNormGrads, LayerNormGrads, Moments, Norm, RowNorm, RowStats, RowStatsMut,
    layer_norm_backward_composed, layer_norm_composed,
};
pub(crate) use norm::{repeat_rows, rows_as_channels};
pub use optim::{
    AdagradStep, AdamStep, Optim, RmspropState, RmspropStep, SgdStep, sgd_step_composed,
};
pub use pool::Pool;
pub use rows::Rows;
pub use scalar_ops::{BinaryOp, ReduceOp, UnaryOp};
pub use sequence::Sequence;
pub use sequence_descriptors::{
    GruGrads, GruSaved, GruSavedMut, LstmSaved, LstmSavedMut, LstmState, RecurrentStep,
    RnnActivation, RnnGrads, RnnStepMut, Rotary, ScoreMask, StepBatch,
};
pub use strided::{Around, Strided, View};

/// A compute backend: a device handle plus every op family. Implemented for every type that
/// implements the families; write generic code against `B: Backend`.
///
/// ```
/// use shapeflow_core::Backend;
/// fn zeros<B: Backend>(dev: &B) -> Vec<B::Elem> { B::to_host(&dev.zeros(4)) }
/// assert_eq!(zeros(&shapeflow_cpu::Cpu::default()), vec![0.0; 4]);
/// ```
pub trait Backend:
    Device + Linalg + Elementwise + Rows + Conv + Pool + Norm + Optim + Sequence + Attention + Strided
{
}

impl<T> Backend for T where
    T: Device
        + Linalg
        + Elementwise
        + Rows
        + Conv
        + Pool
        + Norm
        + Optim
        + Sequence
        + Attention
        + Strided
{
}
