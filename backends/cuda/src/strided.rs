//! `impl Strided for Cuda`: the family's default bodies, which run the reference kernels of
//! `shapeflow_core::backend::strided_host` through host memory. Correct on the GPU but bound by
//! transfers; NVRTC kernels for these ops are the next step for this backend.

use shapeflow_core::backend::Strided;

use crate::Cuda;

impl Strided for Cuda {}
