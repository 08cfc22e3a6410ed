//! The strided kernels (kernels/strided.cu) against the CPU backend's `Strided` family: every
//! unary op and derivative, broadcast binary ops, select, a permuting copy, each reduction
//! along a middle and a last axis, and a gather with its scatter-add.

use shapeflow_core::Dims;
use shapeflow_core::backend::{Around, BinaryOp, Device, ReduceOp, Strided, UnaryOp, View};
use shapeflow_cpu::Cpu;
use shapeflow_cuda::shapes;
use shapeflow_cuda::strided::{StridedGeom, binary_code, reduce_code, unary_code};

use super::{Emu, buf, build, close, data};

type UnaryK = unsafe extern "C" fn(*const f32, *mut f32, i32, f32, f32, usize);
type UnaryGradK =
    unsafe extern "C" fn(*const f32, *const f32, *const f32, *mut f32, i32, f32, f32, usize);
type BinaryK = unsafe extern "C" fn(*const f32, *const f32, *mut f32, i32, StridedGeom, usize);
type SelectK =
    unsafe extern "C" fn(*const f32, *const f32, *const f32, *mut f32, StridedGeom, usize);
type CopyK = unsafe extern "C" fn(*const f32, *mut f32, StridedGeom, usize);
type ReduceK = unsafe extern "C" fn(*const f32, *mut f32, i32, usize, usize, usize);
type IndexK = unsafe extern "C" fn(*const f32, *const i32, *mut f32, usize, usize, usize, usize);

const UNARY: [UnaryOp; 25] = [
    UnaryOp::Neg,
    UnaryOp::Abs,
    UnaryOp::Exp,
    UnaryOp::Log,
    UnaryOp::Log1p,
    UnaryOp::Sqrt,
    UnaryOp::Rsqrt,
    UnaryOp::Recip,
    UnaryOp::Square,
    UnaryOp::Powf(2.5),
    UnaryOp::Sin,
    UnaryOp::Cos,
    UnaryOp::Tanh,
    UnaryOp::Sigmoid,
    UnaryOp::Relu,
    UnaryOp::Gelu,
    UnaryOp::Silu,
    UnaryOp::Softplus,
    UnaryOp::Clamp(-0.5, 0.7),
    UnaryOp::Sign,
    UnaryOp::AddScalar(1.5),
    UnaryOp::MulScalar(-2.0),
    UnaryOp::RsubScalar(0.25),
    UnaryOp::RdivScalar(3.0),
    UnaryOp::RpowScalar(1.7),
];

fn dims(s: &[usize]) -> Dims {
    Dims::new(s).unwrap()
}

#[test]
fn strided_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let n = 300;
    let mixed = data(n, 0.3);
    let positive: Vec<f32> = mixed.iter().map(|v| v.abs() + 0.5).collect();
    let dy = data(n, 0.9);
    let unary = emu.sym::<UnaryK>("strided_unary");
    let grad = emu.sym::<UnaryGradK>("strided_unary_grad");
    for op in UNARY {
        let domain = matches!(
            op,
            UnaryOp::Log
                | UnaryOp::Log1p
                | UnaryOp::Sqrt
                | UnaryOp::Rsqrt
                | UnaryOp::Powf(_)
                | UnaryOp::RdivScalar(_)
        );
        let x = if domain { &positive } else { &mixed };
        let (code, p, q) = unary_code(op);
        let mut y = vec![0.0f32; n];
        // SAFETY: two buffers of n floats, as the kernel indexes.
        emu.launch_as(shapes::grid_stride(n), || unsafe {
            unary(x.as_ptr(), y.as_mut_ptr(), code, p, q, n)
        });
        let mut want = buf(&vec![0.0; n]);
        Cpu::unary(op, &buf(x), &mut want);
        close(&format!("{op:?}"), &y, &want);
        let mut dx = vec![0.0f32; n];
        // SAFETY: four buffers of n floats.
        emu.launch_as(shapes::grid_stride(n), || unsafe {
            grad(x.as_ptr(), y.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), code, p, q, n)
        });
        let mut want_dx = buf(&vec![0.0; n]);
        Cpu::unary_grad(op, &buf(x), &buf(&y), &buf(&dy), &mut want_dx);
        close(&format!("{op:?} derivative"), &dx, &want_dx);
    }

    // [3, 4, 5] op [4, 1] (broadcast), and [3, 4, 5] op [5]
    let out_dims = dims(&[3, 4, 5]);
    let a = data(60, 0.1);
    let b = data(4, 0.5).iter().map(|v| v + 2.5).collect::<Vec<_>>();
    let c = data(5, 0.7);
    let binary = emu.sym::<BinaryK>("strided_binary");
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Maximum,
        BinaryOp::Minimum,
        BinaryOp::Pow,
        BinaryOp::Eq,
        BinaryOp::Ne,
        BinaryOp::Lt,
        BinaryOp::Le,
        BinaryOp::Gt,
        BinaryOp::Ge,
    ];
    for (other, other_dims) in [(&b, dims(&[4, 1])), (&c, dims(&[5]))] {
        let (va, vb) = (View::contiguous(&out_dims), View::broadcast(&other_dims, &out_dims));
        for op in ops {
            // pow of a negative base is NaN on both sides: compare on |a| + 0.5
            let base: Vec<f32> = if op == BinaryOp::Pow {
                a.iter().map(|v| v.abs() + 0.5).collect()
            } else {
                a.clone()
            };
            let g = StridedGeom::new(&out_dims, &[va, vb]);
            let mut out = vec![0.0f32; 60];
            // SAFETY: `base` of 60 floats and `other` read through their views, `out` of 60.
            emu.launch_as(shapes::grid_stride(60), || unsafe {
                binary(base.as_ptr(), other.as_ptr(), out.as_mut_ptr(), binary_code(op), g, 60)
            });
            let mut want = buf(&[0.0; 60]);
            Cpu::binary(op, (&buf(&base), va), (&buf(other), vb), &mut want, &out_dims);
            close(&format!("{op:?} with {other_dims}"), &out, &want);
        }
    }

    // select: mask [3, 4, 1] ? a [3, 4, 5] : c [5]
    let mask: Vec<f32> = (0..12).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let vm = View::broadcast(&dims(&[3, 4, 1]), &out_dims);
    let (va, vc) = (View::contiguous(&out_dims), View::broadcast(&dims(&[5]), &out_dims));
    let select = emu.sym::<SelectK>("strided_select");
    let mut out = vec![0.0f32; 60];
    let g = StridedGeom::new(&out_dims, &[vm, va, vc]);
    // SAFETY: each buffer read through its view; `out` of 60 floats.
    emu.launch_as(shapes::grid_stride(60), || unsafe {
        select(mask.as_ptr(), a.as_ptr(), c.as_ptr(), out.as_mut_ptr(), g, 60)
    });
    let mut want = buf(&[0.0; 60]);
    Cpu::select((&buf(&mask), vm), (&buf(&a), va), (&buf(&c), vc), &mut want, &out_dims);
    close("select", &out, &want);

    // a permuting copy: [3, 4, 5] read as [5, 3, 4] (axes 2, 0, 1), written contiguously
    let to = dims(&[5, 3, 4]);
    let own = View::contiguous(&out_dims);
    let src =
        View { offset: 0, strides: [own.strides[2], own.strides[0], own.strides[1], 0, 0, 0] };
    let copy = emu.sym::<CopyK>("strided_copy");
    let mut out = vec![0.0f32; 60];
    let g = StridedGeom::new(&to, &[src, View::contiguous(&to)]);
    // SAFETY: `a` and `out` of 60 floats, indexed through the two views.
    emu.launch_as(shapes::grid_stride(60), || unsafe { copy(a.as_ptr(), out.as_mut_ptr(), g, 60) });
    let mut want = Cpu::default().zeros(60);
    Cpu::copy_strided(&buf(&a), src, &mut want, View::contiguous(&to), &to);
    close("copy_strided", &out, &Cpu::to_host(&want));

    // reductions along the middle and the last axis, a NaN in one row
    let mut x = a.clone();
    x[7] = f32::NAN;
    let reduce = emu.sym::<ReduceK>("strided_reduce");
    for axis in [1, 2] {
        let around = Around::axis(&out_dims, axis);
        for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min, ReduceOp::ArgMax, ReduceOp::ArgMin]
        {
            let m = around.outer * around.inner;
            let mut out = vec![0.0f32; m];
            // SAFETY: `x` of outer·n·inner floats, `out` of outer·inner.
            emu.launch_as(shapes::grid_stride(m), || unsafe {
                reduce(
                    x.as_ptr(),
                    out.as_mut_ptr(),
                    reduce_code(op),
                    around.outer,
                    around.n,
                    around.inner,
                )
            });
            let mut want = buf(&vec![0.0; m]);
            Cpu::reduce(op, &buf(&x), around, &mut want);
            for (i, (g, w)) in out.iter().zip(want.iter()).enumerate() {
                let same = (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-5 * (1.0 + w.abs());
                assert!(same, "{op:?} along axis {axis}[{i}]: kernel {g}, cpu {w}");
            }
        }
    }

    // a gather along the middle axis of [3, 4, 5] picking 6 entries per (outer, inner) pair,
    // repeats included, and its scatter-add back
    let around = Around::axis(&out_dims, 1);
    let k = 6;
    let idx: Vec<usize> = (0..3 * k * 5).map(|p| (p * 7 + p / 5) % 4).collect();
    let idx_i: Vec<i32> = idx.iter().map(|&i| i as i32).collect();
    let gather = emu.sym::<IndexK>("strided_gather");
    let mut picked = vec![0.0f32; 3 * k * 5];
    // SAFETY: `a` of 3·4·5 floats, `idx_i` and `picked` of 3·k·5, every index below 4.
    emu.launch_as(shapes::grid_stride(picked.len()), || unsafe {
        gather(a.as_ptr(), idx_i.as_ptr(), picked.as_mut_ptr(), 3, 4, 5, k)
    });
    let mut want = buf(&vec![0.0; 3 * k * 5]);
    Cpu::gather(&buf(&a), around, &idx, k, &mut want);
    close("gather", &picked, &want);
    let scatter = emu.sym::<IndexK>("strided_scatter_add");
    let mut table = data(60, 0.4);
    let mut want = buf(&table);
    // SAFETY: as above, `table` of 3·4·5 floats.
    emu.launch_as(shapes::grid_stride(picked.len()), || unsafe {
        scatter(picked.as_ptr(), idx_i.as_ptr(), table.as_mut_ptr(), 3, 4, 5, k)
    });
    Cpu::scatter_add(&buf(&picked), around, &idx, k, &mut want);
    close("scatter_add", &table, &want);
}
