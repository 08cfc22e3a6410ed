//! Views of generic element slices as `f32`, for kernels specialised to `f32` (AVX2, AVX-512),
//! and whether the machine runs the AVX2 ones.

use shapeflow_core::Elem;

/// `s` as `f32`s when `E` is `f32`.
pub(crate) fn as_f32<E: Elem>(s: &[E]) -> Option<&[f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: `E` is `f32` (same type id), so the slice's layout and values are `f32`'s.
        unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len()) }
    })
}

/// `s` as `f32`s when `E` is `f32`.
pub(crate) fn as_f32_mut<E: Elem>(s: &mut [E]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<E>() == std::any::TypeId::of::<f32>()).then(|| {
        // SAFETY: `E` is `f32` (same type id); the unique borrow moves into the result.
        unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<f32>(), s.len()) }
    })
}

/// Whether this machine has AVX2 and FMA (for kernels compiled with `#[target_feature]`).
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}
