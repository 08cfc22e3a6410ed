//! shapeflow-core: shape-typed tensors, the backend trait, layers, losses, optimizers and data.
//!
//! Users normally reach all of this through the `shapeflow` facade crate and its prelude.
#![warn(missing_docs)]

pub mod autograd;
pub mod backend;
pub mod checkpoint;
pub mod data;
pub mod dim;
pub mod dim_arith;
pub mod distributed;
pub mod error;
pub mod fit;
pub mod graph;
pub mod init;
pub mod layer;
pub mod layer_to;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod module;
pub mod operand;
pub mod ops;
pub mod optim;
pub mod profile;
pub mod rng;
pub mod seq;
pub mod shape;
mod skip;
pub mod summary;
pub mod tensor;
mod tensor_display;

pub use backend::{Activation, Backend, Elem};
pub use dim::{Const, Dim, Dyn};
pub use error::{Error, Result};
pub use layer::{GradReady, Init, Layer};
pub use layer_to::LayerTo;
pub use module::Module;
pub use rng::Rng;
pub use shape::{Dims, Shape};
pub use skip::skip_test;
pub use tensor::Tensor;
