//! `impl Attention for Cuda`: the composed defaults (split heads, batched cuBLAS products, the
//! mask and row-softmax kernels); no kernel of its own yet.

use shapeflow_core::backend::Attention;

use crate::Cuda;

impl Attention for Cuda {}
