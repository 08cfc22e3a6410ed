//! # shapeflow
//!
//! Deep learning in Rust where the compiler proves your tensor shapes fit. Declare a model once
//! with [`model!`]; a wrong layer size is a compile error that names the layer and the numbers.
//! The macro generates the layers, the forward pass and the backward pass, which run on the CPU
//! ([`Cpu`], or [`Cpu64`] in `f64`) or, with the `cuda` feature, on a GPU.
//!
//! ```
//! use shapeflow::prelude::*;
//!
//! model! {
//!     /// A small classifier.
//!     pub struct Mlp {
//!         input: [4],
//!         fc1: Linear<4, 8>,
//!         act1: Relu,
//!         fc2: Linear<8, 3>,
//!     }
//! }
//!
//! let dev = Cpu::default();
//! let mut model = Mlp::<Cpu>::new(&dev, 0);
//! let x = Tensor::<(Dyn, Const<4>), Cpu>::from_batch(&dev, 2, vec![0.5; 8]).unwrap();
//! let (logits, cache) = model.forward_train(&x);
//! let (loss, dlogits) = cross_entropy(&logits, &[0, 2]).unwrap();
//! let grads = model.backward(&cache, &dlogits).unwrap();
//! let mut opt = Adam::new(&model, AdamConfig::default());
//! opt.step(&mut model, &grads).unwrap();
//! assert!(loss > 0.0);
//! ```
//!
//! ## The DSL
//!
//! `model! { pub struct Name { input: [sizes…], layer: Kind<args>, … } }`. The input is the
//! per-sample shape; the batch dimension is added and is a runtime size. Built-in kinds:
//! `Linear<in, out>`, `Conv2d<in, out, kernel, stride = 1, padding = 0, dilation = 1>`, `Conv1d<…>`,
//! `MaxPool2d<kernel, stride = kernel, padding = 0>`, `AvgPool2d<…>`, `GlobalAvgPool2d`, `Flatten`,
//! `BatchNorm1d<features, eps = 1e-5, momentum = 0.1>`, `BatchNorm2d<…>`, `Relu`,
//! `LeakyRelu<negative_slope = 0.01>`, `Sigmoid`, `Tanh`, `Gelu`, `GeluTanh`, `Softmax`,
//! `LogSoftmax`, `Dropout<p = 0.5>`, `Dropout2d<p = 0.5>`, `LayerNorm`, `RmsNorm`, `Narrow`;
//! merges `Add(a, b)`, `Sub`, `Mul`, `Concat`; for sequences `Embedding`, `Lstm`, `Gru`, `Rnn`,
//! `RnnRelu`, `LastStep`, `MeanOverTime`, `PositionEmbedding`, `SinusoidalPositions`; attention
//! `MultiheadAttention`, `CrossAttention`. The guide's models chapter (`docs/guide/models.md`) lists each
//! with its arguments. A layer of your own is written
//! `#[custom(output = [sizes…])] name: YourType<B>` (it implements [`Layer`] and [`Init`], and
//! derives [`Module`]); the compiler checks that its `Layer` impl takes the shape before it and
//! produces the stated one. `output` may be left out (`#[custom]`) only when no built-in layer
//! follows. Every size in the generated types is a [`Const`], printed in decimal.
//!
//! Generated for `Name`: `Name<B>` with a public field per layer, `new(&device, seed)`, `forward`,
//! `forward_train` → `(output, NameCache<B>)`, `backward(&cache, &dy)` → gradients as a `Name<B>`,
//! `num_params()`, `summary()`, the aliases `NameInput<B>` / `NameOutput<B>`, and impls of
//! [`Module`] (parameter names such as `fc1.weight`) and [`Layer`].

pub use shapeflow_core::{
    Activation, Backend, Const, Dim, Dims, Dyn, Elem, Error, Init, Layer, LayerTo, Module, Result,
    Rng, Shape, Tensor, autograd, backend, checkpoint, data, dim::DimEq, dim::StaticDim, dim_arith,
    fit, graph, init, layers, loss, metrics, module, operand, ops, optim, profile, rng, seq, shape,
    skip_test, summary,
};
pub use shapeflow_cpu::{Cpu, Cpu64, CpuDevice, set_matmul_threads, set_num_threads};
pub use shapeflow_macros::{Init, Module, dim, model};

/// Data-parallel training (see [`shapeflow_core::distributed`]): the [`DataParallel`](distributed::DataParallel)
/// group `fit` and hand-written loops use, the in-process engines, the MPI engine (the
/// system's MPI, loaded at run time) and with the `nccl` feature the NCCL engine of
/// `shapeflow-distributed`.
pub mod distributed {
    pub use shapeflow_core::distributed::*;
    #[cfg(not(target_family = "wasm"))]
    pub use shapeflow_distributed::Mpi;
    #[cfg(feature = "nccl")]
    pub use shapeflow_distributed::{Nccl, NcclId};
}

/// ONNX export: `shapeflow::onnx::export(&model, "model.onnx")` (not on WebAssembly).
#[cfg(not(target_family = "wasm"))]
pub use shapeflow_onnx as onnx;

#[cfg(feature = "cuda")]
pub use shapeflow_cuda::{Cuda, TrainGraph};

pub mod example_args;

/// typenum, re-exported for hand-written generic code whose convolution, pooling and flatten
/// sizes the type system computes (`Conv2d` on `(Dyn, Const<1>, Const<28>, Const<28>)` yields `(Dyn, Const<6>, Const<24>, Const<24>)`).
/// Models and everyday code use [`Const`] dimensions, which errors print in decimal.
pub use typenum;

/// Everything a model file needs: `use shapeflow::prelude::*;`.
pub mod prelude {
    pub use crate::autograd::{AutoLayer, Autograd, Gradients, no_grad};
    pub use crate::backend::Device;
    pub use crate::data::{Dataset, Mnist};
    pub use crate::fit::{
        AutogradLoss, CustomLoss, EarlyStopping, FitConfig, LossBatch, LossFn, LrScheduler, Metric,
        ModelCheckpoint, Trainable, Validation, Verbosity, evaluate, evaluate_with, fit, predict,
        predict_classes, predict_proba,
    };
    pub use crate::ops::rules::{Axes2, Axes3, Axes4, Axes5, Axes6};
    // Every built-in layer: a new layer in `shapeflow_core::layers` needs no edit here.
    pub use crate::layers::*;
    pub use crate::loss::{
        Labels, bce_with_logits, cross_entropy, cross_entropy_steps, mse_loss, nll_loss,
    };
    pub use crate::optim::{
        Adagrad, AdagradConfig, Adam, AdamConfig, CosineAnnealingLr, ExponentialLr, LinearLr,
        OneCycleLr, Rmsprop, RmspropConfig, Sgd, SgdConfig, StepLr,
    };
    pub use crate::{
        Backend, Const, Cpu, Cpu64, Dyn, Elem, Init, Layer, LayerTo, Module, Result, Rng, Shape,
        Tensor, dim, model,
    };
}

/// Paths used by generated code; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use shapeflow_core::backend::Device;
    pub use shapeflow_core::graph::{
        Attr, Described, DescribedAt, Graph, GraphInput, GraphNode, params_of,
    };
    pub use shapeflow_core::layers::Merge;
    pub use shapeflow_core::module::{
        StateFn, StateMutFn, TensorsMutFn, VisitFn, VisitGradsFn, VisitMutFn, add_grads, with_field,
    };
    pub use shapeflow_core::operand::Is;
    pub use shapeflow_core::profile;
    pub use shapeflow_core::summary::{Summary, SummaryRow};
    pub use shapeflow_core::{
        Backend, Const, Dyn, GradReady, Init, Layer, LayerTo, Module, Result, Rng, Shape, Tensor,
        layers,
    };
}

/// The README's code blocks, compiled as doctests so the quick start cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/ops.md")]
pub struct OpsDoctests;

/// The guide's chapters, compiled as doctests so their examples cannot rot.
#[cfg(doctest)]
pub mod guide_doctests {
    #[doc = include_str!("../docs/guide/tensors.md")]
    pub struct Tensors;
    #[doc = include_str!("../docs/guide/models.md")]
    pub struct Models;
    #[doc = include_str!("../docs/guide/graphs.md")]
    pub struct Graphs;
    #[doc = include_str!("../docs/guide/sequences.md")]
    pub struct Sequences;
    #[doc = include_str!("../docs/guide/attention.md")]
    pub struct Attention;
    #[doc = include_str!("../docs/guide/training.md")]
    pub struct Training;
    #[doc = include_str!("../docs/guide/backends.md")]
    pub struct Backends;
    #[doc = include_str!("../docs/guide/onnx.md")]
    pub struct Onnx;
    #[doc = include_str!("../docs/guide/browser.md")]
    pub struct Browser;
    #[doc = include_str!("../docs/guide/serving.md")]
    pub struct Serving;
    #[doc = include_str!("../docs/guide/data-parallel.md")]
    pub struct DataParallel;
    #[doc = include_str!("../docs/guide/errors.md")]
    pub struct Errors;
    #[doc = include_str!("../docs/guide/examples.md")]
    pub struct Examples;
    #[doc = include_str!("../docs/guide/benchmarks.md")]
    pub struct Benchmarks;
}
