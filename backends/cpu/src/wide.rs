//! `wide!`: a kernel compiled twice, for baseline x86-64 and for AVX2 with FMA, the second
//! picked at run time where the machine has them.

/// Defines `$name` with its body compiled twice: for baseline x86-64 and, picked at run time
/// where the machine has them, for AVX2 and FMA (the crate is built for baseline x86-64, whose
/// SSE runs `f32` four lanes and `f64` two lanes wide). The function is generic over
/// `E: CpuElem` and has the visibility written before `fn`; the body is inlined into both
/// versions.
macro_rules! wide {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$doc])*
        $vis fn $name<E: $crate::CpuElem>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body<E: $crate::CpuElem>($($arg: $ty),*) $(-> $ret)? $body

            /// # Safety
            /// The CPU must support AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<E: $crate::CpuElem>($($arg: $ty),*) $(-> $ret)? {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if $crate::f32_view::avx2_fma() {
                // SAFETY: AVX2 and FMA are available (checked just above).
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}
