//! shapeflow-cpu: the CPU backend. Buffers are contiguous `Vec`s; matrix products use the `gemm`
//! crate (AVX-512 kernels picked at run time) and this crate's own kernels for the shapes gemm
//! handles poorly (`matmul_row.rs`, `matmul_dots.rs`, `matmul_packed.rs`).
//!
//! [`Cpu`] computes in `f32`; [`Cpu64`] in `f64` (used by the gradient checks).
//!
//! ```
//! use shapeflow_core::Tensor;
//! use shapeflow_cpu::Cpu;
//! let t = Tensor::<(typenum::U2,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
//! assert_eq!(t.to_vec(), vec![1.0, 1.0]);
//! ```
#![warn(missing_docs)]

// `wide!`, used by the files below.
#[macro_use]
mod wide;

// Op families (`impl <Family> for CpuDevice`), one file each, beside their kernels.
mod attention;
mod batch_norm;
mod conv;
mod conv_samples;
mod device;
mod elementwise;
mod linalg;
mod lstm_rows;
mod norm;
mod optim;
mod pool;
mod rows;
mod sequence;
mod strided;
mod winograd;

// Kernels the family files call.
mod activation;
mod bias;
mod buffer;
mod dropout;
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod f32_view;
mod gate_math;
mod loss;
mod matmul;
#[cfg(target_arch = "x86_64")]
mod matmul_dots;
#[cfg(target_arch = "x86_64")]
mod matmul_packed;
#[cfg(target_arch = "x86_64")]
mod matmul_row;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod matmul_simd128;
mod recurrence;
mod softmax;
mod sums;
mod workers;

use std::marker::PhantomData;

use shapeflow_core::Elem;

pub use buffer::{CpuBuf, Pool};
pub use matmul::set_matmul_threads;
pub use workers::set_num_threads;

/// The CPU device, computing in `E` (`f32` or `f64`).
///
/// ```
/// use shapeflow_core::backend::Device;
/// assert_eq!(shapeflow_cpu::Cpu::default().name(), "cpu-f32");
/// ```
pub struct CpuDevice<E> {
    _elem: PhantomData<fn() -> E>,
}

impl<E> Clone for CpuDevice<E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for CpuDevice<E> {}
impl<E> Default for CpuDevice<E> {
    fn default() -> Self {
        CpuDevice { _elem: PhantomData }
    }
}
impl<E: Elem> std::fmt::Debug for CpuDevice<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cpu<{}>", E::NAME)
    }
}

/// The CPU backend in `f32`: the default for training.
pub type Cpu = CpuDevice<f32>;
/// The CPU backend in `f64`: for gradient checks and numerically demanding work.
pub type Cpu64 = CpuDevice<f64>;

/// Element types the CPU kernels support (`f32`, `f64`).
pub trait CpuElem: Elem {
    /// The error function (for GELU).
    fn erf(self) -> Self;
    /// The buffer pool of this type.
    fn pool() -> &'static std::sync::Mutex<Pool<Self>>;
    /// The logistic function in a recurrent cell (vectorisable in `f32`, exact in `f64`).
    fn gate_sigmoid(self) -> Self;
    /// `tanh` in a recurrent cell (vectorisable in `f32`, exact in `f64`).
    fn gate_tanh(self) -> Self;
    /// `e^x` in a vectorised loop (`f32`; exact in `f64`).
    fn gate_exp(self) -> Self;
}
impl CpuElem for f32 {
    #[inline(always)]
    fn erf(self) -> Self {
        gate_math::erf(self)
    }
    fn pool() -> &'static std::sync::Mutex<Pool<Self>> {
        &buffer::POOL_F32
    }
    #[inline(always)]
    fn gate_sigmoid(self) -> Self {
        gate_math::sigmoid(self)
    }
    #[inline(always)]
    fn gate_tanh(self) -> Self {
        gate_math::tanh(self)
    }
    #[inline(always)]
    fn gate_exp(self) -> Self {
        gate_math::exp(self)
    }
}
impl CpuElem for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn pool() -> &'static std::sync::Mutex<Pool<Self>> {
        &buffer::POOL_F64
    }
    fn gate_sigmoid(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    fn gate_tanh(self) -> Self {
        self.tanh()
    }
    fn gate_exp(self) -> Self {
        self.exp()
    }
}
