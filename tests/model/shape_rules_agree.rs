//! The three shape rules agree on a table of cases: `model!`'s expansion-time rule (which writes
//! the sizes it computed as `Const` types), the build-time check of `LayerTo` (a `const` assert
//! in `shapeflow-core`, so this file only builds if the macro's sizes pass it), and the
//! type-level rule for typenum dimensions (`ConvOut`). Each is checked against the formula in
//! plain numbers.

use shapeflow::dim_arith::ConvOut;
use shapeflow::prelude::*;
use shapeflow::typenum::U;

/// PyTorch's rule, written out independently of both implementations.
fn formula(size: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    (size + 2 * p - d * (k - 1) - 1) / s + 1
}

macro_rules! conv_case {
    ($test:ident, $model:ident, h = $h:literal, w = $w:literal, k = $k:literal, s = $s:literal, p = $p:literal, d = $d:literal) => {
        model! {
            struct $model {
                input: [2, $h, $w],
                conv: Conv2d<2, 3, $k, stride = $s, padding = $p, dilation = $d>,
                pool: MaxPool2d<1>,
                flat: Flatten,
            }
        }

        #[test]
        fn $test() {
            let (oh, ow) = (formula($h, $k, $s, $p, $d), formula($w, $k, $s, $p, $d));
            let m = $model::<Cpu>::new(&Cpu::default(), 0);
            let s = m.summary();
            assert_eq!(s.rows[0].output, format!("[batch, 3, {oh}, {ow}]"));
            assert_eq!(s.rows[2].output, format!("[batch, {}]", 3 * oh * ow));
            type Out = <U<$h> as ConvOut<U<$k>, U<$s>, U<$p>, U<$d>>>::Output;
            assert_eq!(<Out as shapeflow::Dim>::SIZE, Some(oh));
            let x = Tensor::<(Dyn, Const<2>, Const<$h>, Const<$w>), Cpu>::zeros(
                &Cpu::default(),
                &[1, 2, $h, $w],
            )
            .unwrap();
            assert_eq!(m.forward(&x).dims(), &[1, 3 * oh * ow]);
        }
    };
}

conv_case!(agree_plain, C1, h = 28, w = 28, k = 5, s = 1, p = 0, d = 1);
conv_case!(agree_same_padding, C2, h = 28, w = 20, k = 5, s = 1, p = 2, d = 1);
conv_case!(agree_stride_2, C3, h = 31, w = 30, k = 3, s = 2, p = 1, d = 1);
conv_case!(agree_stride_3_odd, C4, h = 17, w = 9, k = 4, s = 3, p = 0, d = 1);
conv_case!(agree_dilation_2, C5, h = 15, w = 12, k = 3, s = 1, p = 2, d = 2);
conv_case!(agree_dilation_3_stride_2, C6, h = 40, w = 33, k = 3, s = 2, p = 1, d = 3);
conv_case!(agree_kernel_equals_input, C7, h = 7, w = 7, k = 7, s = 1, p = 0, d = 1);
conv_case!(agree_1x1, C8, h = 5, w = 6, k = 1, s = 1, p = 0, d = 1);
conv_case!(agree_large_image, C9, h = 224, w = 224, k = 7, s = 2, p = 3, d = 1);
conv_case!(agree_wide_padding, C10, h = 3, w = 3, k = 3, s = 1, p = 4, d = 1);

macro_rules! pool_case {
    ($test:ident, $model:ident, h = $h:literal, k = $k:literal, s = $s:literal, p = $p:literal) => {
        model! {
            struct $model {
                input: [4, $h, $h],
                max: MaxPool2d<$k, stride = $s, padding = $p>,
                avg: AvgPool2d<$k, stride = $s, padding = $p>,
            }
        }

        #[test]
        fn $test() {
            let o1 = formula($h, $k, $s, $p, 1);
            let o2 = formula(o1, $k, $s, $p, 1);
            let s = $model::<Cpu>::new(&Cpu::default(), 0).summary();
            assert_eq!(s.rows[0].output, format!("[batch, 4, {o1}, {o1}]"));
            assert_eq!(s.rows[1].output, format!("[batch, 4, {o2}, {o2}]"));
        }
    };
}

pool_case!(pools_agree_k2, P1, h = 28, k = 2, s = 2, p = 0);
pool_case!(pools_agree_k3_s2_p1, P2, h = 29, k = 3, s = 2, p = 1);
pool_case!(pools_agree_k3_s1, P3, h = 9, k = 3, s = 1, p = 1);
pool_case!(pools_agree_odd_floor, P4, h = 15, k = 2, s = 2, p = 0);
