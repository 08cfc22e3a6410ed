//! The element types a backend computes in.

use std::fmt::{Debug, Display};

/// A floating-point element type a backend computes in (`f32`, or `f64` for gradient checks).
///
/// ```
/// use shapeflow_core::Elem;
/// assert_eq!(<f32 as Elem>::from_f64(0.5), 0.5f32);
/// ```
pub trait Elem:
    num_traits::Float + Debug + Display + Default + Send + Sync + 'static + std::iter::Sum
{
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
    /// The type's name: `"f32"` or `"f64"`.
    const NAME: &'static str;
    /// The safetensors dtype: `"F32"` or `"F64"`.
    const SAFETENSORS_DTYPE: &'static str;
    /// Bytes per element.
    const BYTES: usize;
    /// Appends the little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads from little-endian bytes (`bytes.len() == BYTES`).
    fn read_le(bytes: &[u8]) -> Self;
    /// Wraps a buffer for a collective operation ([`crate::distributed::Values`]).
    fn into_values(v: Vec<Self>) -> crate::distributed::Values;
    /// Unwraps a collective's result; `None` when it holds another element type.
    fn from_values(v: crate::distributed::Values) -> Option<Vec<Self>>;
}

impl Elem for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    const NAME: &'static str = "f32";
    const SAFETENSORS_DTYPE: &'static str = "F32";
    const BYTES: usize = 4;
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[..4]);
        f32::from_le_bytes(b)
    }
    fn into_values(v: Vec<Self>) -> crate::distributed::Values {
        crate::distributed::Values::F32(v)
    }
    fn from_values(v: crate::distributed::Values) -> Option<Vec<Self>> {
        match v {
            crate::distributed::Values::F32(v) => Some(v),
            _ => None,
        }
    }
}

impl Elem for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    const NAME: &'static str = "f64";
    const SAFETENSORS_DTYPE: &'static str = "F64";
    const BYTES: usize = 8;
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(bytes: &[u8]) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        f64::from_le_bytes(b)
    }
    fn into_values(v: Vec<Self>) -> crate::distributed::Values {
        crate::distributed::Values::F64(v)
    }
    fn from_values(v: crate::distributed::Values) -> Option<Vec<Self>> {
        match v {
            crate::distributed::Values::F64(v) => Some(v),
            _ => None,
        }
    }
}
