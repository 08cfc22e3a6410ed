//! The CUDA kernels checked on the CPU with real parallelism: every `.cu` file is compiled as
//! C++ (`tests/emulation/`), each block's threads run as real threads (the backend's block size,
//! `SHAPEFLOW_BLOCK`), `__syncthreads()` is a real barrier and `atomicAdd` a real atomic, and
//! each kernel's output is compared with the CPU backend's. A variant without barriers and one
//! with plain read-modify-write "atomics" must fail. Needs `g++`; skips with a message without
//! it. This checks what runs inside the kernels, not streams or cuBLAS.

use std::path::PathBuf;
use std::sync::Mutex;

use libloading::{Library, Symbol};
use shapeflow_core::Activation;
use shapeflow_core::backend::{
    AdagradStep, AdamStep, BatchNormGeom, BatchNormGrads, Blocks, Channels, Conv, Elementwise,
    LayerNormGrads, Linalg, Moments, Norm, Optim, Pool, RmspropState, RmspropStep, RowNorm,
    RowStats, RowStatsMut, Rows, SgdStep, Window2d,
};
use shapeflow_cpu::{Cpu, CpuBuf};
use shapeflow_cuda::shapes;

const SOURCES: [&str; 9] =
    ["elementwise", "linalg", "rows", "conv", "pool", "norm", "optim", "sequence", "strided"];

#[path = "emulation/strided.rs"]
mod strided;

/// Threads per block: the backend's `SHAPEFLOW_BLOCK`, the block size of its launches.
fn block_threads() -> u32 {
    shapeflow_cuda::kernels::BLOCK_DEFINE
        .rsplit('=')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// The kernel sources with each `extern "C" __global__ void name(params)` renamed
/// `name__kernel`, followed by a C entry point `name(params)` that runs the current block's
/// threads on it (`emu_threads` in tests/emulation/kernels.cpp).
fn threaded_source(dir: &std::path::Path) -> String {
    const HEAD: &str = "extern \"C\" __global__ void ";
    let mut body = String::from("#include \"kernels.cpp\"\n");
    let mut entries = String::new();
    for name in SOURCES {
        let path = dir.join(format!("../../kernels/{name}.cu"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut rest = text.as_str();
        while let Some(at) = rest.find(HEAD) {
            body.push_str(&rest[..at]);
            let after = &rest[at + HEAD.len()..];
            let open = after.find('(').expect("kernel parameter list");
            let close = after.find(')').expect("kernel parameter list");
            let (kernel, params) = (&after[..open], &after[open + 1..close]);
            body.push_str(&format!("static void {kernel}__kernel("));
            let args: Vec<&str> = params
                .split(',')
                .map(|p| p.trim().rsplit([' ', '*']).next().unwrap_or(""))
                .filter(|a| !a.is_empty())
                .collect();
            entries.push_str(&format!(
                "extern \"C\" void {kernel}({params}) {{ emu_threads([&] {{ {kernel}__kernel({}); }}); }}\n",
                args.join(", ")
            ));
            rest = &after[open + 1..];
        }
        body.push_str(rest);
        body.push('\n');
    }
    body + &entries
}

/// Compiles the kernels once per test run and variant (tests run in parallel and share the
/// library): `defines` are extra `-D` flags (the broken variants of the barrier test).
fn compiled(defines: &[&str]) -> Option<PathBuf> {
    static LIBS: Mutex<Vec<(String, Option<PathBuf>)>> = Mutex::new(Vec::new());
    let key = defines.join(" ");
    let mut libs = LIBS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, lib)) = libs.iter().find(|(k, _)| *k == key) {
        return lib.clone();
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/emulation");
    let tag = format!("{}-{}", std::process::id(), libs.len());
    let src = std::env::temp_dir().join(format!("shapeflow-cuda-emulation-{tag}.cpp"));
    let out = std::env::temp_dir().join(format!("shapeflow-cuda-emulation-{tag}.so"));
    std::fs::write(&src, threaded_source(&dir)).expect("write the generated source");
    let status = std::process::Command::new("g++")
        .args([
            "-std=c++17",
            "-O1",
            "-shared",
            "-fPIC",
            "-pthread",
            shapeflow_cuda::kernels::BLOCK_DEFINE,
        ])
        .args(defines)
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status();
    let lib = match status {
        Ok(s) if s.success() => {
            // One handle stays open for the whole run: the library's thread pool must never be
            // unloaded under its threads.
            // SAFETY: our kernels, as in `build_variant`.
            if let Ok(keep) = unsafe { Library::new(&out) } {
                std::mem::forget(keep);
            }
            Some(out)
        }
        other => {
            shapeflow_core::skip_test(format!(
                "could not compile the kernels with g++ ({other:?})"
            ));
            None
        }
    };
    libs.push((key, lib.clone()));
    lib
}

fn build() -> Option<Library> {
    build_variant(&[])
}

fn build_variant(defines: &[&str]) -> Option<Library> {
    let out = compiled(defines)?;
    // SAFETY: the library was built from our kernel sources; loading runs no initialisers
    // beyond the C++ runtime's.
    match unsafe { Library::new(out) } {
        Ok(l) => Some(l),
        Err(e) => {
            shapeflow_core::skip_test(format!("could not load the emulated kernels: {e}"));
            None
        }
    }
}

struct Emu(Library);

impl Emu {
    /// Runs `body` once per block of a `grid`-block launch of the backend's block size; each
    /// kernel entry point runs that block's threads as real threads. The emulated indices and
    /// `__shared__` arrays are globals of the library, so launches from the tests' threads are
    /// serialised. Panics when a barrier was not reached by every live thread of a block.
    fn launch(&self, grid: usize, body: impl FnMut()) {
        self.launch_blocks(grid, block_threads(), body);
    }

    /// Runs `body` once per block of the backend's launch shape for this kernel
    /// ([`shapeflow_cuda::shapes`]), so multi-block grid-stride loops run as on a GPU.
    fn launch_as(&self, shape: shapes::Shape, body: impl FnMut()) {
        self.launch_blocks(shape.blocks as usize, shape.threads, body);
    }

    fn launch_blocks(&self, grid: usize, threads: u32, mut body: impl FnMut()) {
        static LAUNCH: Mutex<()> = Mutex::new(());
        let _one_at_a_time = LAUNCH.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: `emu_set_block(u32, u32, u32)` and `emu_take_stuck()` are defined in
        // kernels.cpp with these signatures.
        let set: Symbol<unsafe extern "C" fn(u32, u32, u32)> =
            unsafe { self.0.get(b"emu_set_block") }.unwrap();
        let stuck: Symbol<unsafe extern "C" fn() -> i32> =
            unsafe { self.0.get(b"emu_take_stuck") }.unwrap();
        for b in 0..grid.max(1) {
            // SAFETY: plain stores to the emulated block index, grid and block sizes.
            unsafe { set(b as u32, grid.max(1) as u32, threads.max(1)) };
            body();
        }
        // SAFETY: reads and resets a counter.
        let n = unsafe { stuck() };
        assert_eq!(
            n, 0,
            "{n} __syncthreads() barrier(s) were not reached by every thread of a block"
        );
    }
    fn sym<T>(&self, name: &str) -> Symbol<'_, T> {
        // SAFETY: each caller names a kernel with the matching C signature (kernels/*.cu).
        unsafe { self.0.get(name.as_bytes()) }.unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Geom([i32; 14]);

impl From<Window2d> for Geom {
    fn from(g: Window2d) -> Self {
        let v = [g.n, g.c, g.h, g.w, g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw, g.oh, g.ow];
        Geom(v.map(|x| x as i32))
    }
}

fn data(n: usize, seed: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * 0.73 + seed).sin() * 2.0).collect()
}

fn buf(v: &[f32]) -> CpuBuf<f32> {
    CpuBuf::from_slice(v)
}

fn close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{i}]: kernel {g}, cpu {w}");
    }
}

type Unary = unsafe extern "C" fn(*const f32, *mut f32, i32, f32, usize);
type UnaryBwd = unsafe extern "C" fn(*const f32, *const f32, *mut f32, i32, f32, usize);
type RowsFn = unsafe extern "C" fn(*const f32, *mut f32, usize, usize);
type RowsBwd = unsafe extern "C" fn(*const f32, *const f32, *mut f32, usize, usize);

#[test]
fn elementwise_and_row_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let n = 300;
    let x = data(n, 0.1);
    let dy = data(n, 0.7);
    for (code, kind, slope) in [
        (0, Activation::Relu, 0.0),
        (1, Activation::LeakyRelu(0.1), 0.1),
        (2, Activation::Sigmoid, 0.0),
        (3, Activation::Tanh, 0.0),
        (4, Activation::Gelu, 0.0),
        (5, Activation::GeluTanh, 0.0),
    ] {
        let mut y = vec![0.0f32; n];
        let f = emu.sym::<Unary>("activation");
        // SAFETY: buffers of `n` floats each, as the kernel indexes.
        emu.launch_as(shapes::grid_stride(n), || unsafe {
            f(x.as_ptr(), y.as_mut_ptr(), code, slope, n)
        });
        let mut want = buf(&vec![0.0; n]);
        Cpu::activation(kind, &buf(&x), &mut want);
        close(&format!("{kind:?} forward"), &y, &want);
        let saved = if kind.backward_uses_output() { y.clone() } else { x.clone() };
        let mut dx = vec![0.0f32; n];
        let b = emu.sym::<UnaryBwd>("activation_backward");
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(n), || unsafe {
            b(saved.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), code, slope, n)
        });
        let mut want = buf(&vec![0.0; n]);
        Cpu::activation_backward(kind, &buf(&saved), &buf(&dy), &mut want);
        close(&format!("{kind:?} backward"), &dx, &want);
    }
    // A warp per row: rows shorter than a warp (12 × 25: two blocks, the second with exited
    // warps) and longer ones (5 × 60: each lane takes two columns).
    for ((rows, cols), (name, bwd)) in [(12, 25), (5, 60)].into_iter().flat_map(|shape| {
        [
            (shape, ("softmax_rows", "softmax_backward_rows")),
            (shape, ("log_softmax_rows", "log_softmax_backward_rows")),
        ]
    }) {
        let mut y = vec![0.0f32; n];
        let f = emu.sym::<RowsFn>(name);
        // SAFETY: rows × cols floats.
        emu.launch_as(shapes::warp_rows(rows), || unsafe {
            f(x.as_ptr(), y.as_mut_ptr(), rows, cols)
        });
        let mut want = buf(&vec![0.0; n]);
        if name == "softmax_rows" {
            Cpu::softmax_rows(&buf(&x), &mut want, rows, cols);
        } else {
            Cpu::log_softmax_rows(&buf(&x), &mut want, rows, cols);
        }
        close(name, &y, &want);
        let mut dx = vec![0.0f32; n];
        let b = emu.sym::<RowsBwd>(bwd);
        // SAFETY: rows × cols floats.
        emu.launch_as(shapes::warp_rows(rows), || unsafe {
            b(y.as_ptr(), dy.as_ptr(), dx.as_mut_ptr(), rows, cols)
        });
        let mut want = buf(&vec![0.0; n]);
        if name == "softmax_rows" {
            Cpu::softmax_backward_rows(&buf(&y), &buf(&dy), &mut want, rows, cols);
        } else {
            Cpu::log_softmax_backward_rows(&buf(&y), &buf(&dy), &mut want, rows, cols);
        }
        close(bwd, &dx, &want);
    }
    let (rows, cols) = (12, 25);
    // Cross-entropy pieces and the reductions.
    let mut logp = buf(&vec![0.0; n]);
    Cpu::log_softmax_rows(&buf(&x), &mut logp, rows, cols);
    let labels: Vec<usize> = (0..rows).map(|r| (r * 7) % cols).collect();
    let labels32: Vec<i32> = labels.iter().map(|&l| l as i32).collect();
    let mut per_row = vec![0.0f64; rows];
    let nll =
        emu.sym::<unsafe extern "C" fn(*const f32, *const i32, *mut f64, usize, usize)>("nll_sum");
    // SAFETY: logp rows × cols, labels and per_row `rows` long.
    emu.launch_as(shapes::per_row(rows), || unsafe {
        nll(logp.as_ptr(), labels32.as_ptr(), per_row.as_mut_ptr(), rows, cols)
    });
    let want = Cpu::nll_sum(&logp, &labels, rows, cols);
    assert!((per_row.iter().sum::<f64>() - want).abs() < 1e-6 * want.abs().max(1.0));
    let mut dx = vec![0.0f32; n];
    let smo = emu.sym::<unsafe extern "C" fn(*const f32, *const i32, *mut f32, usize, usize, f32)>(
        "softmax_minus_onehot",
    );
    // SAFETY: as above.
    emu.launch_as(shapes::per_row(rows * cols), || unsafe {
        smo(logp.as_ptr(), labels32.as_ptr(), dx.as_mut_ptr(), rows, cols, 0.25)
    });
    let mut want = buf(&vec![0.0; n]);
    Cpu::softmax_minus_onehot(&logp, &labels, &mut want, rows, cols, 0.25);
    close("softmax_minus_onehot", &dx, &want);
    let mut partial = vec![0.0f64; shapes::reduction(n).blocks as usize];
    for (name, want) in [("sum", Cpu::sum(&buf(&x))), ("sum_squares", Cpu::sum_squares(&buf(&x)))] {
        let sum = emu.sym::<unsafe extern "C" fn(*const f32, *mut f64, usize)>(name);
        // SAFETY: x has n floats; one partial per block.
        emu.launch_as(shapes::reduction(n), || unsafe { sum(x.as_ptr(), partial.as_mut_ptr(), n) });
        let total: f64 = partial.iter().sum();
        assert!(partial.len() > 1, "the reduction spans several blocks");
        assert!((total - want).abs() < 1e-6, "{name}: {total} vs {want}");
    }
    let t: Vec<f32> = data(n, 0.3).iter().map(|v| (v + 2.0) / 4.0).collect();
    let (mut grad, mut loss) = (vec![0.0f32; n], vec![0.0f64; n]);
    let bce = emu
        .sym::<unsafe extern "C" fn(*const f32, *const f32, *mut f32, *mut f64, f32, usize)>(
            "bce_with_logits",
        );
    // SAFETY: n elements each.
    emu.launch_as(shapes::per_row(n), || unsafe {
        bce(x.as_ptr(), t.as_ptr(), grad.as_mut_ptr(), loss.as_mut_ptr(), 0.5, n)
    });
    let mut want = buf(&vec![0.0; n]);
    let total = Cpu::bce_with_logits(&buf(&x), &buf(&t), &mut want, 0.5);
    close("bce grad", &grad, &want);
    assert!((loss.iter().sum::<f64>() - total).abs() < 1e-6 * total.abs().max(1.0));
}

/// The one-line kernels: products and differences, `axpy`, `scale`, `clamp` (NaN passes
/// through), `fill`, row and channel broadcasts, bias sums and the NLL one-hot, each over the
/// backend's own grid and sizes that span several blocks.
#[test]
fn elementary_kernels_match_the_cpu() {
    use shapeflow_core::backend::Device;
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let (rows, cols) = (23, 31); // 713 elements: three blocks
    let n = rows * cols;
    let (a, b) = (data(n, 0.2), data(n, 1.7));
    type Binary = unsafe extern "C" fn(*const f32, *const f32, *mut f32, usize);
    for name in ["mul", "sub"] {
        let mut out = vec![0.0f32; n];
        let f = emu.sym::<Binary>(name);
        // SAFETY: three buffers of n floats.
        emu.launch_as(shapes::grid_stride(n), || unsafe {
            f(a.as_ptr(), b.as_ptr(), out.as_mut_ptr(), n)
        });
        let mut want = buf(&vec![0.0; n]);
        if name == "mul" {
            Cpu::mul(&buf(&a), &buf(&b), &mut want);
        } else {
            Cpu::sub(&buf(&a), &buf(&b), &mut want);
        }
        close(name, &out, &want);
    }
    let mut y = b.clone();
    let axpy = emu.sym::<unsafe extern "C" fn(f32, *const f32, *mut f32, usize)>("axpy");
    // SAFETY: x and y of n floats.
    emu.launch_as(shapes::grid_stride(n), || unsafe { axpy(-0.75, a.as_ptr(), y.as_mut_ptr(), n) });
    let mut want = buf(&b);
    Cpu::axpy(-0.75, &buf(&a), &mut want);
    close("axpy", &y, &want);
    let mut x = a.clone();
    let scale = emu.sym::<unsafe extern "C" fn(*mut f32, f32, usize)>("scale");
    // SAFETY: n floats.
    emu.launch_as(shapes::grid_stride(n), || unsafe { scale(x.as_mut_ptr(), 1.25, n) });
    let mut want = buf(&a);
    Cpu::scale(&mut want, 1.25);
    close("scale", &x, &want);
    let mut x = a.clone();
    x[5] = f32::NAN;
    let mut want = buf(&x);
    let clamp = emu.sym::<unsafe extern "C" fn(*mut f32, f32, f32, usize)>("clamp");
    // SAFETY: n floats.
    emu.launch_as(shapes::grid_stride(n), || unsafe { clamp(x.as_mut_ptr(), -0.5, 1.0, n) });
    Cpu::clamp(&mut want, -0.5, 1.0);
    assert!(x[5].is_nan() && want[5].is_nan(), "clamp passes NaN through");
    x[5] = 0.0;
    want[5] = 0.0;
    close("clamp", &x, &want);
    let mut x = a.clone();
    let fill = emu.sym::<unsafe extern "C" fn(*mut f32, f32, usize)>("fill");
    // SAFETY: n floats.
    emu.launch_as(shapes::grid_stride(n), || unsafe { fill(x.as_mut_ptr(), 3.5, n) });
    let mut want = buf(&a);
    Cpu::fill(&mut want, 3.5);
    close("fill", &x, &want);
    let m = data(rows, 0.9);
    let mut out = vec![0.0f32; n];
    let mrb = emu.sym::<unsafe extern "C" fn(*const f32, *const f32, *mut f32, usize, usize)>(
        "mul_rows_broadcast",
    );
    // SAFETY: x and y rows × cols, m `rows`.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        mrb(a.as_ptr(), m.as_ptr(), out.as_mut_ptr(), rows, cols)
    });
    let mut want = buf(&vec![0.0; n]);
    Cpu::mul_rows_broadcast(&buf(&a), &buf(&m), &mut want, rows, cols);
    close("mul_rows_broadcast", &out, &want);
    let bias = data(cols, 0.4);
    let mut y = a.clone();
    let ab = emu.sym::<unsafe extern "C" fn(*mut f32, *const f32, usize, usize)>("add_bias");
    // SAFETY: y rows × cols, bias `cols`.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        ab(y.as_mut_ptr(), bias.as_ptr(), rows, cols)
    });
    let mut want = buf(&a);
    Cpu::add_bias(&mut want, &buf(&bias), rows, cols);
    close("add_bias", &y, &want);
    // sum_rows runs one thread per column: 300 columns span two blocks.
    let (srows, scols) = (7, 300);
    let x = data(srows * scols, 0.6);
    let mut out = vec![0.0f32; scols];
    let sr = emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, usize, usize)>("sum_rows");
    // SAFETY: x srows × scols, out `scols`.
    emu.launch_as(shapes::grid_stride(scols), || unsafe {
        sr(x.as_ptr(), out.as_mut_ptr(), srows, scols)
    });
    let mut want = buf(&vec![0.0; scols]);
    Cpu::sum_rows(&buf(&x), &mut want, srows, scols);
    close("sum_rows", &out, &want);
    let g = Channels { outer: 5, channels: 7, inner: 11 };
    let cb = data(g.channels, 0.3);
    let len = g.outer * g.channels * g.inner;
    let mut y = data(len, 0.1);
    let mut want = buf(&y);
    let acb = emu
        .sym::<unsafe extern "C" fn(*mut f32, *const f32, usize, usize, usize)>("add_channel_bias");
    // SAFETY: y outer × channels × inner, bias `channels`.
    emu.launch_as(shapes::grid_stride(len), || unsafe {
        acb(y.as_mut_ptr(), cb.as_ptr(), g.outer, g.channels, g.inner)
    });
    Cpu::add_channel_bias(&mut want, &buf(&cb), g);
    close("add_channel_bias", &y, &want);
    let labels: Vec<usize> = (0..rows).map(|r| (r * 5) % cols).collect();
    let labels32: Vec<i32> = labels.iter().map(|&l| l as i32).collect();
    let mut dx = vec![1.0f32; n];
    let oh = emu.sym::<unsafe extern "C" fn(*const i32, *mut f32, usize, usize, f32)>("neg_onehot");
    // SAFETY: `rows` labels, dx rows × cols.
    emu.launch_as(shapes::per_row(n), || unsafe {
        oh(labels32.as_ptr(), dx.as_mut_ptr(), rows, cols, 0.5)
    });
    let mut want = buf(&vec![1.0; n]);
    Cpu::neg_onehot(&labels, &mut want, rows, cols, 0.5);
    close("neg_onehot", &dx, &want);
}

#[test]
fn dropout_masks_are_identical_to_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let n = 1000;
    let mut mask = vec![0.0f32; n];
    let f = emu.sym::<unsafe extern "C" fn(*mut f32, f64, u64, usize)>("dropout_mask");
    // SAFETY: n floats.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        f(mask.as_mut_ptr(), 0.3, 0xDEAD_BEEF_1234, n)
    });
    let mut want = buf(&vec![0.0; n]);
    Cpu::dropout_mask(&mut want, 0.3, 0xDEAD_BEEF_1234);
    assert_eq!(&mask[..], &want[..], "the same seed gives the same mask on both backends");
}

#[test]
fn convolution_and_pooling_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    for (k, s, p, d) in [(3, 1, 0, 1), (3, 2, 1, 1), (2, 1, 2, 2)] {
        let g = Window2d::new([4, 3, 7, 6], [k, k], [s, s], [p, p], [d, d]).unwrap();
        let x = data(4 * 3 * 7 * 6, 0.4);
        let cols_len = g.col_rows() * g.n * g.col_cols();
        let mut cols = vec![0.0f32; cols_len];
        let im2col = emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, Geom)>("im2col");
        // SAFETY: x is n·c·h·w floats, cols c·kh·kw × n·oh·ow.
        emu.launch_as(shapes::grid_stride(cols_len), || unsafe {
            im2col(x.as_ptr(), cols.as_mut_ptr(), g.into())
        });
        let mut want = buf(&vec![0.0; cols_len]);
        Cpu::im2col(&buf(&x), &mut want, g);
        close("im2col", &cols, &want);
        let dcols = data(cols_len, 0.9);
        let mut dx = vec![0.0f32; x.len()];
        let col2im = emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, Geom)>("col2im");
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(x.len()), || unsafe {
            col2im(dcols.as_ptr(), dx.as_mut_ptr(), g.into())
        });
        let mut want = buf(&vec![0.0; x.len()]);
        Cpu::col2im(&buf(&dcols), &mut want, g);
        close("col2im", &dx, &want);
    }
    for (k, s, p) in [(2, 2, 0), (3, 2, 1)] {
        let g = Window2d::new([8, 3, 7, 6], [k, k], [s, s], [p, p], [1, 1]).unwrap();
        let x = data(8 * 3 * 7 * 6, 0.2);
        let out = g.n * g.c * g.oh * g.ow;
        let (mut y, mut am) = (vec![0.0f32; out], vec![0.0f32; out]);
        let mp =
            emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, *mut f32, Geom)>("max_pool2d");
        // SAFETY: sizes from the geometry.
        emu.launch_as(shapes::grid_stride(out), || unsafe {
            mp(x.as_ptr(), y.as_mut_ptr(), am.as_mut_ptr(), g.into())
        });
        let (mut wy, mut wam) = (buf(&vec![0.0; out]), buf(&vec![0.0; out]));
        Cpu::max_pool2d(&buf(&x), &mut wy, &mut wam, g);
        close("max_pool2d", &y, &wy);
        close("max_pool2d argmax", &am, &wam);
        let dy = data(out, 0.5);
        let mut dx = vec![0.0f32; x.len()];
        let mpb = emu.sym::<unsafe extern "C" fn(*const f32, *const f32, *mut f32, Geom)>(
            "max_pool2d_backward",
        );
        // SAFETY: dx is zeroed, as the backend does before this kernel.
        emu.launch_as(shapes::grid_stride(out), || unsafe {
            mpb(dy.as_ptr(), am.as_ptr(), dx.as_mut_ptr(), g.into())
        });
        let mut want = buf(&vec![0.0; x.len()]);
        Cpu::max_pool2d_backward(&buf(&dy), &wam, &mut want, g);
        close("max_pool2d_backward", &dx, &want);
        let ap = emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, Geom)>("avg_pool2d");
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(out), || unsafe {
            ap(x.as_ptr(), y.as_mut_ptr(), g.into())
        });
        Cpu::avg_pool2d(&buf(&x), &mut wy, g);
        close("avg_pool2d", &y, &wy);
        let apb =
            emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, Geom)>("avg_pool2d_backward");
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(x.len()), || unsafe {
            apb(dy.as_ptr(), dx.as_mut_ptr(), g.into())
        });
        let mut want = buf(&vec![0.0; x.len()]);
        Cpu::avg_pool2d_backward(&buf(&dy), &mut want, g);
        close("avg_pool2d_backward", &dx, &want);
    }
}

#[test]
fn batch_norm_and_channel_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    // 2444 values per channel: three chunks (of 815, 815 and 814) per channel.
    let (outer, channels, inner) = (4, 3, 611);
    let splits = shapes::channel_splits(channels, outer * inner);
    assert_eq!(splits, 3);
    let n = outer * channels * inner;
    let x: Vec<f32> = data(n, 0.6).iter().map(|v| v + 100.0).collect(); // a large mean
    let dy = data(n, 1.3);
    let gamma = vec![1.5f32, -0.5, 2.0];
    let beta = vec![0.1f32, 0.2, -0.3];
    let (mut mean, mut var) = (vec![0.0f32; channels], vec![0.0f32; channels]);
    let mut part = vec![0.0f64; 3 * channels * splits];
    let mom = emu.sym::<unsafe extern "C" fn(*const f32, *mut f64, usize, usize, usize, usize)>(
        "channel_moments_partial",
    );
    // SAFETY: x is outer·channels·inner floats; three partials per chunk.
    emu.launch_as(shapes::channel_chunks(channels, splits), || unsafe {
        mom(x.as_ptr(), part.as_mut_ptr(), outer, channels, inner, splits)
    });
    let fin = emu.sym::<unsafe extern "C" fn(*const f64, *mut f32, *mut f32, usize, usize)>(
        "channel_moments_finish",
    );
    // SAFETY: the partials above; mean and var `channels`.
    emu.launch_as(shapes::grid_stride(channels), || unsafe {
        fin(part.as_ptr(), mean.as_mut_ptr(), var.as_mut_ptr(), channels, splits)
    });
    let (mut wm, mut wv) = (buf(&[0.0; 3]), buf(&[0.0; 3]));
    let shape = Channels { outer, channels, inner };
    Cpu::channel_moments(&buf(&x), &mut wm, &mut wv, shape);
    let geom = BatchNormGeom { shape, eps: 1e-5 };
    close("channel mean", &mean, &wm);
    close("channel var", &var, &wv);
    let mut y = vec![0.0f32; n];
    type Apply = unsafe extern "C" fn(
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *mut f32,
        f64,
        usize,
        usize,
        usize,
    );
    let apply = emu.sym::<Apply>("batch_norm_apply");
    // SAFETY: as above.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        apply(
            x.as_ptr(),
            mean.as_ptr(),
            var.as_ptr(),
            gamma.as_ptr(),
            beta.as_ptr(),
            y.as_mut_ptr(),
            1e-5,
            outer,
            channels,
            inner,
        )
    });
    let mut want = buf(&vec![0.0; n]);
    let stats = Moments { mean: &wm, var: &wv };
    Cpu::batch_norm_apply(&buf(&x), stats, &buf(&gamma), &buf(&beta), &mut want, geom);
    close("batch_norm_apply", &y, &want);
    let (mut dx, mut dg, mut db) =
        (vec![0.0f32; n], vec![0.0f32; channels], vec![0.0f32; channels]);
    type Partial = unsafe extern "C" fn(
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *mut f64,
        f64,
        usize,
        usize,
        usize,
        usize,
        i32,
    );
    type Finish = unsafe extern "C" fn(*mut f64, *mut f32, *mut f32, usize, usize, i32);
    type Apply2 = unsafe extern "C" fn(
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *const f64,
        *mut f32,
        f64,
        usize,
        usize,
        usize,
    );
    let sums = 2 * channels * splits;
    let mut part = vec![0.0f64; sums + 2 * channels];
    let partial = emu.sym::<Partial>("channel_sums_partial");
    // SAFETY: as above; two partials per chunk and two totals per channel.
    emu.launch_as(shapes::channel_chunks(channels, splits), || unsafe {
        partial(
            x.as_ptr(),
            dy.as_ptr(),
            mean.as_ptr(),
            var.as_ptr(),
            part.as_mut_ptr(),
            1e-5,
            outer,
            channels,
            inner,
            splits,
            0,
        )
    });
    let finish = emu.sym::<Finish>("channel_sums_finish");
    // SAFETY: as above; dbeta and dgamma `channels`.
    emu.launch_as(shapes::grid_stride(channels), || unsafe {
        finish(part.as_mut_ptr(), db.as_mut_ptr(), dg.as_mut_ptr(), channels, splits, 1)
    });
    let apply2 = emu.sym::<Apply2>("batch_norm_backward_apply");
    // SAFETY: as above; the totals after the partials.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        apply2(
            x.as_ptr(),
            dy.as_ptr(),
            mean.as_ptr(),
            var.as_ptr(),
            gamma.as_ptr(),
            part[sums..].as_ptr(),
            dx.as_mut_ptr(),
            1e-5,
            outer,
            channels,
            inner,
        )
    });
    let (mut wdx, mut wdg, mut wdb) = (buf(&vec![0.0; n]), buf(&[0.0; 3]), buf(&[0.0; 3]));
    let grads = BatchNormGrads { dx: &mut wdx, dgamma: &mut wdg, dbeta: &mut wdb };
    let stats = Moments { mean: &wm, var: &wv };
    Cpu::batch_norm_backward(&buf(&x), &buf(&dy), stats, &buf(&gamma), grads, geom);
    close("batch_norm dx", &dx, &wdx);
    close("batch_norm dgamma", &dg, &wdg);
    close("batch_norm dbeta", &db, &wdb);
    let mut sums = vec![0.0f32; channels];
    let mut part = vec![0.0f64; 2 * channels * splits + 2 * channels];
    // SAFETY: with x_only the kernel reads only x; `second` is null with has_second = 0.
    emu.launch_as(shapes::channel_chunks(channels, splits), || unsafe {
        partial(
            dy.as_ptr(),
            dy.as_ptr(),
            dy.as_ptr(),
            dy.as_ptr(),
            part.as_mut_ptr(),
            0.0,
            outer,
            channels,
            inner,
            splits,
            1,
        )
    });
    // SAFETY: as above.
    emu.launch_as(shapes::grid_stride(channels), || unsafe {
        finish(part.as_mut_ptr(), sums.as_mut_ptr(), std::ptr::null_mut(), channels, splits, 0)
    });
    // The kernel sums in double; so does this reference (the CPU backend's f32 sum of 2444
    // values differs from both by about 1e-5 relative).
    let want: Vec<f32> = (0..channels)
        .map(|c| {
            let at = |k: usize| ((k / inner) * channels + c) * inner + k % inner;
            (0..outer * inner).map(|k| f64::from(dy[at(k)])).sum::<f64>() as f32
        })
        .collect();
    close("sum_channels", &sums, &want);
    let mut cpu = buf(&[0.0; 3]);
    Cpu::sum_channels(&buf(&dy), &mut cpu, shape);
    for (k, c) in sums.iter().zip(cpu.iter()) {
        assert!((k - c).abs() < 1e-4 * (1.0 + c.abs()), "sum_channels: kernel {k}, cpu {c}");
    }
    let mut t = vec![0.0f32; n];
    let tb = emu.sym::<unsafe extern "C" fn(*const f32, *mut f32, usize, usize, usize, usize)>(
        "transpose_blocks",
    );
    // SAFETY: n floats each.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        tb(x.as_ptr(), t.as_mut_ptr(), 2, 2, channels, inner / 2)
    });
    let mut want = buf(&vec![0.0; n]);
    Cpu::transpose_blocks(
        &buf(&x),
        &mut want,
        Blocks { batch: 2, rows: 2, cols: channels, inner: inner / 2 },
    );
    close("transpose_blocks", &t, &want);
}

#[test]
fn optimizer_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let n = 257;
    let g = data(n, 0.8);
    let hp = AdamStep {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.1,
        decoupled: true,
        step: 3,
    };
    let (mut p, mut m, mut v) = (data(n, 0.1), vec![0.05f32; n], vec![0.02f32; n]);
    let (mut wp, mut wm, mut wv) = (buf(&p), buf(&m), buf(&v));
    // The host-side constants exactly as shapeflow-cuda's adam_step computes them.
    let t = hp.step as i32;
    let step_size = (hp.lr / (1.0 - hp.beta1.powi(t))) as f32;
    let bc2_sqrt = (1.0 - hp.beta2.powi(t)).sqrt() as f32;
    let decay = (1.0 - hp.lr * hp.weight_decay) as f32;
    type Adam = unsafe extern "C" fn(
        *mut f32,
        *const f32,
        *mut f32,
        *mut f32,
        f32,
        f32,
        f32,
        f32,
        f32,
        f32,
        f32,
        i32,
        i32,
        usize,
    );
    let adam = emu.sym::<Adam>("adam_step");
    // SAFETY: n floats each.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        adam(
            p.as_mut_ptr(),
            g.as_ptr(),
            m.as_mut_ptr(),
            v.as_mut_ptr(),
            step_size,
            bc2_sqrt,
            0.9,
            0.999,
            1e-8,
            0.1,
            decay,
            0,
            1,
            n,
        )
    });
    Cpu::adam_step(&mut wp, &buf(&g), &mut wm, &mut wv, hp);
    close("adam p", &p, &wp);
    close("adam m", &m, &wm);
    close("adam v", &v, &wv);
    // Inside a CUDA graph: the step is the captured one (here 1) plus the replay's offset (2),
    // so the update is step 3's, as the CPU computes it above.
    let (mut rp, mut rm, mut rv) = (data(n, 0.1), vec![0.05f32; n], vec![0.02f32; n]);
    type AdamReplayed = unsafe extern "C" fn(
        *mut f32,
        *const f32,
        *mut f32,
        *mut f32,
        *const u32,
        f64,
        f64,
        f64,
        f64,
        f32,
        f32,
        f32,
        i32,
        i32,
        usize,
    );
    let replayed = emu.sym::<AdamReplayed>("adam_step_replayed");
    let offset = [2u32];
    // SAFETY: n floats each, one offset.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        replayed(
            rp.as_mut_ptr(),
            g.as_ptr(),
            rm.as_mut_ptr(),
            rv.as_mut_ptr(),
            offset.as_ptr(),
            0.01,
            0.9,
            0.999,
            1.0,
            1e-8,
            0.1,
            decay,
            0,
            1,
            n,
        )
    });
    close("adam_step_replayed p", &rp, &wp);
    close("adam_step_replayed m", &rm, &wm);
    close("adam_step_replayed v", &rv, &wv);
    let hp = SgdStep {
        lr: 0.05,
        momentum: 0.8,
        dampening: 0.0,
        nesterov: true,
        weight_decay: 0.01,
        first: false,
    };
    let (mut p, mut b) = (data(n, 0.3), data(n, 0.6));
    let (mut wp, mut wb) = (buf(&p), buf(&b));
    type Sgd = unsafe extern "C" fn(
        *mut f32,
        *const f32,
        *mut f32,
        f32,
        f32,
        f32,
        f32,
        i32,
        i32,
        i32,
        usize,
    );
    let sgd = emu.sym::<Sgd>("sgd_step");
    // SAFETY: n floats each.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        sgd(p.as_mut_ptr(), g.as_ptr(), b.as_mut_ptr(), 0.05, 0.8, 1.0, 0.01, 1, 0, 1, n)
    });
    Cpu::sgd_step(&mut wp, &buf(&g), Some(&mut wb), hp);
    close("sgd p", &p, &wp);
    close("sgd buffer", &b, &wb);
}

#[test]
fn layer_norm_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let (rows, cols) = (6, 37);
    let n = rows * cols;
    let x = data(n, 0.2);
    let dy = data(n, 1.1);
    let gamma = data(cols, 0.5);
    let beta = data(cols, 0.9);
    let g = RowNorm { rows, cols, eps: 1e-5 };
    type Fwd = unsafe extern "C" fn(
        *const f32,
        *const f32,
        *const f32,
        *mut f32,
        *mut f32,
        *mut f32,
        usize,
        usize,
        f64,
        i32,
    );
    type Bwd = unsafe extern "C" fn(
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *mut f32,
        usize,
        usize,
        f64,
        i32,
    );
    type ParamGrads = unsafe extern "C" fn(
        *const f32,
        *const f32,
        *const f32,
        *const f32,
        *mut f32,
        *mut f32,
        usize,
        usize,
        f64,
    );
    for affine in [true, false] {
        let (mut y, mut mean, mut var) = (vec![0.0f32; n], vec![0.0f32; rows], vec![0.0f32; rows]);
        let fwd = emu.sym::<Fwd>("layer_norm");
        // SAFETY: x and y rows × cols floats, gamma and beta cols, mean and var rows.
        emu.launch_as(shapes::per_item(rows), || unsafe {
            fwd(
                x.as_ptr(),
                gamma.as_ptr(),
                beta.as_ptr(),
                y.as_mut_ptr(),
                mean.as_mut_ptr(),
                var.as_mut_ptr(),
                rows,
                cols,
                1e-5,
                i32::from(affine),
            )
        });
        let (mut wy, mut wm, mut wr) =
            (buf(&vec![0.0; n]), buf(&vec![0.0; rows]), buf(&vec![0.0; rows]));
        let (wg, wb) = (buf(&gamma), buf(&beta));
        let aff = affine.then_some((&wg, &wb));
        Cpu::layer_norm(&buf(&x), aff, &mut wy, RowStatsMut { mean: &mut wm, var: &mut wr }, g);
        close("layer_norm y", &y, &wy);
        close("layer_norm mean", &mean, &wm);
        close("layer_norm var", &var, &wr);
        let mut dx = vec![0.0f32; n];
        let bwd = emu.sym::<Bwd>("layer_norm_backward");
        // SAFETY: as above.
        emu.launch_as(shapes::per_item(rows), || unsafe {
            bwd(
                x.as_ptr(),
                dy.as_ptr(),
                mean.as_ptr(),
                var.as_ptr(),
                gamma.as_ptr(),
                dx.as_mut_ptr(),
                rows,
                cols,
                1e-5,
                i32::from(affine),
            )
        });
        let (mut wdx, mut wdg, mut wdb) =
            (buf(&vec![0.0; n]), buf(&vec![0.0; cols]), buf(&vec![0.0; cols]));
        let grads = LayerNormGrads { dx: &mut wdx, dgamma: Some(&mut wdg), dbeta: Some(&mut wdb) };
        let stats = RowStats { mean: &wm, var: &wr };
        Cpu::layer_norm_backward(&buf(&x), &buf(&dy), stats, affine.then_some(&wg), grads, g);
        close("layer_norm dx", &dx, &wdx);
        let (mut dg, mut db) = (vec![0.0f32; cols], vec![0.0f32; cols]);
        let pg = emu.sym::<ParamGrads>("layer_norm_param_grads");
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(cols), || unsafe {
            pg(
                x.as_ptr(),
                dy.as_ptr(),
                mean.as_ptr(),
                var.as_ptr(),
                dg.as_mut_ptr(),
                db.as_mut_ptr(),
                rows,
                cols,
                1e-5,
            )
        });
        close("layer_norm dgamma", &dg, &wdg);
        close("layer_norm dbeta", &db, &wdb);
    }
}

#[test]
fn rmsprop_and_adagrad_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let n = 301;
    let g = data(n, 0.8);
    type Rms = unsafe extern "C" fn(
        *mut f32,
        *const f32,
        *mut f32,
        *mut f32,
        *mut f32,
        f32,
        f32,
        f32,
        f32,
        f32,
        i32,
        i32,
        usize,
    );
    for (centered, momentum) in [(false, 0.0), (true, 0.9)] {
        let hp =
            RmspropStep { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.1, momentum, centered };
        let (mut p, mut sq, mut ga, mut bf) = (
            data(n, 0.1),
            vec![0.05f32; n],
            data(n, 0.4).iter().map(|v| v * 0.01).collect::<Vec<_>>(),
            data(n, 0.2),
        );
        let (mut wp, mut wsq, mut wga, mut wbf) = (buf(&p), buf(&sq), buf(&ga), buf(&bf));
        let rms = emu.sym::<Rms>("rmsprop_step");
        // SAFETY: n floats each.
        emu.launch_as(shapes::grid_stride(n), || unsafe {
            rms(
                p.as_mut_ptr(),
                g.as_ptr(),
                sq.as_mut_ptr(),
                ga.as_mut_ptr(),
                bf.as_mut_ptr(),
                0.01,
                0.99,
                1e-8,
                0.1,
                momentum as f32,
                i32::from(centered),
                i32::from(momentum > 0.0),
                n,
            )
        });
        let state = RmspropState {
            square_avg: &mut wsq,
            grad_avg: Some(&mut wga),
            momentum_buffer: Some(&mut wbf),
        };
        Cpu::rmsprop_step(&mut wp, &buf(&g), state, hp);
        close("rmsprop p", &p, &wp);
        close("rmsprop square_avg", &sq, &wsq);
        close("rmsprop grad_avg", &ga, &wga);
        close("rmsprop momentum buffer", &bf, &wbf);
    }
    let hp = AdagradStep { lr: 0.01, lr_decay: 0.01, eps: 1e-10, weight_decay: 0.1, step: 3 };
    let (mut p, mut sum) = (data(n, 0.3), vec![0.1f32; n]);
    let (mut wp, mut wsum) = (buf(&p), buf(&sum));
    let clr = (hp.lr / (1.0 + 2.0 * hp.lr_decay)) as f32;
    let ada = emu
        .sym::<unsafe extern "C" fn(*mut f32, *const f32, *mut f32, f32, f32, f32, usize)>(
            "adagrad_step",
        );
    // SAFETY: n floats each.
    emu.launch_as(shapes::grid_stride(n), || unsafe {
        ada(p.as_mut_ptr(), g.as_ptr(), sum.as_mut_ptr(), clr, 1e-10, 0.1, n)
    });
    Cpu::adagrad_step(&mut wp, &buf(&g), &mut wsum, hp);
    close("adagrad p", &p, &wp);
    close("adagrad sum", &sum, &wsum);
}

#[test]
fn concat_and_split_kernels_match_the_cpu() {
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let g = shapeflow_core::backend::Joined { rows: 5, left: 7, right: 3 };
    let (a, b) = (data(35, 0.1), data(15, 0.6));
    let mut y = vec![0.0f32; 50];
    type Cat = unsafe extern "C" fn(*const f32, *const f32, *mut f32, usize, usize, usize);
    let cat = emu.sym::<Cat>("concat_rows");
    // SAFETY: a is rows × left, b rows × right, y rows × (left + right) floats.
    emu.launch_as(shapes::grid_stride(5 * 10), || unsafe {
        cat(a.as_ptr(), b.as_ptr(), y.as_mut_ptr(), 5, 7, 3)
    });
    let mut want = buf(&[0.0; 50]);
    Cpu::concat_rows(&buf(&a), &buf(&b), &mut want, g);
    close("concat_rows", &y, &want);
    let (mut da, mut db) = (vec![0.0f32; 35], vec![0.0f32; 15]);
    type Split = unsafe extern "C" fn(*const f32, *mut f32, *mut f32, usize, usize, usize);
    let split = emu.sym::<Split>("split_rows");
    // SAFETY: as above.
    emu.launch_as(shapes::grid_stride(5 * 10), || unsafe {
        split(y.as_ptr(), da.as_mut_ptr(), db.as_mut_ptr(), 5, 7, 3)
    });
    let (mut wa, mut wb) = (buf(&[0.0; 35]), buf(&[0.0; 15]));
    Cpu::split_rows(&want, &mut wa, &mut wb, g);
    close("split_rows a", &da, &wa);
    close("split_rows b", &db, &wb);
    close("split undoes concat", &da, &a);
}

type LstmStepFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    usize,
    usize,
    usize,
);
type LstmStepBwdFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    usize,
    usize,
    usize,
);
type StepsFn = unsafe extern "C" fn(*const f32, *mut f32, *const i32, usize, usize, usize);
type RowsIdxFn = unsafe extern "C" fn(*const f32, *const i32, *mut f32, usize, usize);

#[test]
fn sequence_kernels_match_the_cpu() {
    use shapeflow_core::backend::{
        LstmSaved, LstmSavedMut, LstmState, RecurrentStep, Sequence, StepBatch,
    };
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    // Three samples of lengths 3, 1, 2 over 3 steps, 90 hidden units (batch × hidden spans two
    // blocks): every step has running and finished samples.
    let (steps, batch, hidden) = (3usize, 3usize, 90usize);
    let lengths = [3usize, 1, 2];
    let lens_f: Vec<f32> = lengths.iter().map(|&l| l as f32).collect();
    let lens_i: Vec<i32> = lengths.iter().map(|&l| l as i32).collect();
    let (g4, all) = (4 * hidden, steps * batch * hidden);
    let pre = data(steps * batch * g4, 0.3);
    let rec = data(batch * g4, 0.9);
    let (mut h, mut c) = (data(batch * hidden, 0.2), data(batch * hidden, 0.4));
    let (mut y, mut gates, mut cp, mut hp) =
        (vec![0.0f32; all], vec![0.0f32; steps * batch * g4], vec![0.0f32; all], vec![0.0f32; all]);
    let (mut ch, mut cc) = (buf(&h), buf(&c));
    let (mut cy, mut cg, mut ccp, mut chp) = (buf(&y), buf(&gates), buf(&cp), buf(&hp));
    let f = emu.sym::<LstmStepFn>("lstm_step");
    for step in 0..steps {
        // SAFETY: buffers sized as the kernel indexes them (see sequence.cu).
        emu.launch_as(shapes::grid_stride(batch * hidden), || unsafe {
            f(
                pre.as_ptr(),
                rec.as_ptr(),
                lens_f.as_ptr(),
                h.as_mut_ptr(),
                c.as_mut_ptr(),
                y.as_mut_ptr(),
                gates.as_mut_ptr(),
                cp.as_mut_ptr(),
                hp.as_mut_ptr(),
                step,
                batch,
                hidden,
            )
        });
        Cpu::lstm_step(
            RecurrentStep { step, batch, hidden },
            &buf(&pre),
            &buf(&rec),
            &buf(&lens_f),
            LstmState { h: &mut ch, c: &mut cc },
            &mut cy,
            LstmSavedMut { gates: &mut cg, c_prev: &mut ccp, h_prev: &mut chp },
        );
    }
    close("lstm_step y", &y, &cy);
    close("lstm_step h", &h, &ch);
    close("lstm_step c", &c, &cc);
    close("lstm_step gates", &gates, &cg);
    close("lstm_step c_prev", &cp, &ccp);
    let dy = data(all, 0.6);
    let (mut dh, mut dc) = (data(batch * hidden, 0.1), data(batch * hidden, 0.5));
    let (mut dpre, mut dg) = (vec![0.0f32; steps * batch * g4], vec![0.0f32; batch * g4]);
    let (mut cdh, mut cdc, mut cdpre, mut cdg) = (buf(&dh), buf(&dc), buf(&dpre), buf(&dg));
    let b = emu.sym::<LstmStepBwdFn>("lstm_step_backward");
    for step in (0..steps).rev() {
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(batch * hidden), || unsafe {
            b(
                lens_f.as_ptr(),
                gates.as_ptr(),
                cp.as_ptr(),
                dy.as_ptr(),
                dh.as_mut_ptr(),
                dc.as_mut_ptr(),
                dpre.as_mut_ptr(),
                dg.as_mut_ptr(),
                step,
                batch,
                hidden,
            )
        });
        Cpu::lstm_step_backward(
            RecurrentStep { step, batch, hidden },
            &buf(&lens_f),
            LstmSaved { gates: &cg, c_prev: &ccp },
            &buf(&dy),
            LstmState { h: &mut cdh, c: &mut cdc },
            &mut cdpre,
            &mut cdg,
        );
    }
    close("lstm_step_backward dpre", &dpre, &cdpre);
    close("lstm_step_backward dgates", &dg, &cdg);
    close("lstm_step_backward dh", &dh, &cdh);
    close("lstm_step_backward dc", &dc, &cdc);

    // Reversal, means over time, gathers and scatters.
    let width = 40;
    let g = StepBatch { batch, steps, width };
    let x = data(g.len(), 0.8);
    let mut out = vec![0.0f32; g.len()];
    let r = emu.sym::<StepsFn>("reverse_steps");
    // SAFETY: steps × batch × width floats, `batch` lengths.
    emu.launch_as(shapes::grid_stride(g.len()), || unsafe {
        r(x.as_ptr(), out.as_mut_ptr(), lens_i.as_ptr(), batch, steps, width)
    });
    let mut want = buf(&vec![0.0; g.len()]);
    Cpu::reverse_steps(&buf(&x), &mut want, &lengths, g);
    close("reverse_steps", &out, &want);
    let mut mean = vec![0.0f32; batch * width];
    let m = emu.sym::<StepsFn>("mean_steps");
    // SAFETY: as above, `mean` batch × width.
    emu.launch_as(shapes::grid_stride(batch * width), || unsafe {
        m(x.as_ptr(), mean.as_mut_ptr(), lens_i.as_ptr(), batch, steps, width)
    });
    let mut want = buf(&vec![0.0; batch * width]);
    Cpu::mean_steps(&buf(&x), &mut want, &lengths, g);
    close("mean_steps", &mean, &want);
    let mut dx = vec![0.0f32; g.len()];
    let mb = emu.sym::<StepsFn>("mean_steps_backward");
    // SAFETY: as above.
    emu.launch_as(shapes::grid_stride(g.len()), || unsafe {
        mb(mean.as_ptr(), dx.as_mut_ptr(), lens_i.as_ptr(), batch, steps, width)
    });
    let mut want = buf(&vec![0.0; g.len()]);
    Cpu::mean_steps_backward(&buf(&mean), &mut want, &lengths, g);
    close("mean_steps_backward", &dx, &want);
    let rows = [2usize, usize::MAX, 0, 2];
    let rows_i: Vec<i32> = rows.iter().map(|&r| i32::try_from(r).unwrap_or(-1)).collect();
    let mut gathered = vec![0.0f32; rows.len() * width];
    let gr = emu.sym::<RowsIdxFn>("gather_rows");
    // SAFETY: a table of ≥ 3 rows of `width`, `rows.len()` output rows.
    emu.launch_as(shapes::grid_stride(rows.len() * width), || unsafe {
        gr(x.as_ptr(), rows_i.as_ptr(), gathered.as_mut_ptr(), rows.len(), width)
    });
    let mut want = buf(&vec![0.0; rows.len() * width]);
    Cpu::gather_rows(&buf(&x), &rows, &mut want, width);
    assert!(
        gathered[width..2 * width].iter().all(|v| v.is_nan())
            && want[width..2 * width].iter().all(|v| v.is_nan())
    );
    close("gather_rows", &gathered[2 * width..], &want[2 * width..]);
    close("gather_rows", &gathered[..width], &want[..width]);
    let src = data(rows.len() * width, 0.2);
    let mut table = data(3 * width, 0.0);
    let mut want = buf(&table);
    let sc = emu.sym::<RowsIdxFn>("scatter_add_rows");
    // SAFETY: as above.
    emu.launch_as(shapes::grid_stride(rows.len() * width), || unsafe {
        sc(src.as_ptr(), rows_i.as_ptr(), table.as_mut_ptr(), rows.len(), width)
    });
    Cpu::scatter_add_rows(&buf(&src), &rows, &mut want, width);
    close("scatter_add_rows", &table, &want);
}

type GruStepFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    usize,
    usize,
    usize,
);
type GruStepBwdFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    usize,
    usize,
    usize,
);
type RnnStepFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
    *mut f32,
    i32,
    usize,
    usize,
    usize,
);
type RnnStepBwdFn = unsafe extern "C" fn(
    *const f32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
    *mut f32,
    i32,
    usize,
    usize,
    usize,
);

#[test]
fn gru_and_rnn_kernels_match_the_cpu() {
    use shapeflow_core::backend::{
        GruGrads, GruSaved, GruSavedMut, RecurrentStep, RnnActivation, RnnGrads, RnnStepMut,
        Sequence,
    };
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    // batch × hidden spans two blocks.
    let (steps, batch, hidden) = (3usize, 3usize, 90usize);
    let lens_f = [3.0f32, 1.0, 2.0];
    let (g3, all) = (3 * hidden, steps * batch * hidden);
    let pre = data(steps * batch * g3, 0.3);
    let rec = data(batch * g3, 0.9);
    let mut h = data(batch * hidden, 0.2);
    let (mut y, mut gates, mut rn, mut hp) =
        (vec![0.0f32; all], vec![0.0f32; steps * batch * g3], vec![0.0f32; all], vec![0.0f32; all]);
    let mut ch = buf(&h);
    let (mut cy, mut cg, mut crn, mut chp) = (buf(&y), buf(&gates), buf(&rn), buf(&hp));
    let f = emu.sym::<GruStepFn>("gru_step");
    for step in 0..steps {
        // SAFETY: buffers sized as the kernel indexes them (see sequence.cu).
        emu.launch_as(shapes::grid_stride(batch * hidden), || unsafe {
            f(
                pre.as_ptr(),
                rec.as_ptr(),
                lens_f.as_ptr(),
                h.as_mut_ptr(),
                y.as_mut_ptr(),
                gates.as_mut_ptr(),
                rn.as_mut_ptr(),
                hp.as_mut_ptr(),
                step,
                batch,
                hidden,
            )
        });
        Cpu::gru_step(
            RecurrentStep { step, batch, hidden },
            &buf(&pre),
            &buf(&rec),
            &buf(&lens_f),
            &mut ch,
            &mut cy,
            GruSavedMut { gates: &mut cg, rec_n: &mut crn, h_prev: &mut chp },
        );
    }
    close("gru_step y", &y, &cy);
    close("gru_step gates", &gates, &cg);
    close("gru_step rec_n", &rn, &crn);
    close("gru_step h_prev", &hp, &chp);
    let dy = data(all, 0.6);
    let mut dh = data(batch * hidden, 0.1);
    let (mut dpre, mut dra, mut dr) = (
        vec![0.0f32; steps * batch * g3],
        vec![0.0f32; steps * batch * g3],
        vec![0.0f32; batch * g3],
    );
    let (mut cdh, mut cdpre, mut cdra, mut cdr) = (buf(&dh), buf(&dpre), buf(&dra), buf(&dr));
    let b = emu.sym::<GruStepBwdFn>("gru_step_backward");
    for step in (0..steps).rev() {
        // SAFETY: as above.
        emu.launch_as(shapes::grid_stride(batch * hidden), || unsafe {
            b(
                lens_f.as_ptr(),
                gates.as_ptr(),
                rn.as_ptr(),
                hp.as_ptr(),
                dy.as_ptr(),
                dh.as_mut_ptr(),
                dpre.as_mut_ptr(),
                dra.as_mut_ptr(),
                dr.as_mut_ptr(),
                step,
                batch,
                hidden,
            )
        });
        Cpu::gru_step_backward(
            RecurrentStep { step, batch, hidden },
            &buf(&lens_f),
            GruSaved { gates: &cg, rec_n: &crn, h_prev: &chp },
            &buf(&dy),
            &mut cdh,
            GruGrads { dpre: &mut cdpre, drec_all: &mut cdra, drec: &mut cdr },
        );
    }
    close("gru_step_backward dpre", &dpre, &cdpre);
    close("gru_step_backward drec_all", &dra, &cdra);
    close("gru_step_backward dh", &dh, &cdh);
    for (code, act) in [(0, RnnActivation::Tanh), (1, RnnActivation::Relu)] {
        let pre = data(all, 0.4);
        let rec = data(batch * hidden, 0.8);
        let mut h = data(batch * hidden, 0.5);
        let (mut y, mut out, mut hp) = (vec![0.0f32; all], vec![0.0f32; all], vec![0.0f32; all]);
        let (mut ch, mut cy, mut cout, mut chp) = (buf(&h), buf(&y), buf(&out), buf(&hp));
        let f = emu.sym::<RnnStepFn>("rnn_step");
        for step in 0..steps {
            // SAFETY: as above.
            emu.launch_as(shapes::grid_stride(batch * hidden), || unsafe {
                f(
                    pre.as_ptr(),
                    rec.as_ptr(),
                    lens_f.as_ptr(),
                    h.as_mut_ptr(),
                    y.as_mut_ptr(),
                    out.as_mut_ptr(),
                    hp.as_mut_ptr(),
                    code,
                    step,
                    batch,
                    hidden,
                )
            });
            let g = RecurrentStep { step, batch, hidden };
            Cpu::rnn_step(
                g,
                act,
                &buf(&pre),
                &buf(&rec),
                &buf(&lens_f),
                RnnStepMut { h: &mut ch, y: &mut cy, out: &mut cout, h_prev: &mut chp },
            );
        }
        close("rnn_step y", &y, &cy);
        close("rnn_step h_prev", &hp, &chp);
        let mut dh = data(batch * hidden, 0.1);
        let (mut dpre, mut dg) = (vec![0.0f32; all], vec![0.0f32; batch * hidden]);
        let (mut cdh, mut cdpre, mut cdg) = (buf(&dh), buf(&dpre), buf(&dg));
        let b = emu.sym::<RnnStepBwdFn>("rnn_step_backward");
        for step in (0..steps).rev() {
            // SAFETY: as above.
            emu.launch_as(shapes::grid_stride(batch * hidden), || unsafe {
                b(
                    lens_f.as_ptr(),
                    out.as_ptr(),
                    dy.as_ptr(),
                    dh.as_mut_ptr(),
                    dpre.as_mut_ptr(),
                    dg.as_mut_ptr(),
                    code,
                    step,
                    batch,
                    hidden,
                )
            });
            let g = RecurrentStep { step, batch, hidden };
            Cpu::rnn_step_backward(
                g,
                act,
                &buf(&lens_f),
                &cout,
                &buf(&dy),
                RnnGrads { dh: &mut cdh, dpre: &mut cdpre, dgates: &mut cdg },
            );
        }
        close(&format!("rnn_step_backward {act:?} dpre"), &dpre, &cdpre);
        close(&format!("rnn_step_backward {act:?} dgates"), &dg, &cdg);
    }
}

#[test]
fn attention_mask_kernels_match_the_cpu() {
    use shapeflow_core::backend::{ScoreMask, Sequence, StepBatch};
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    let lengths = [3usize, 1];
    let lens_i: Vec<i32> = lengths.iter().map(|&l| l as i32).collect();
    // 32 heads: the scores span several blocks.
    for (causal, keys) in [(false, 3), (true, 3), (false, 4)] {
        let g = ScoreMask { batch: 2, heads: 32, queries: 3, keys, causal };
        let mut scores = data(g.len(), 0.3);
        let mut want = buf(&scores);
        let f = emu
            .sym::<unsafe extern "C" fn(*mut f32, *const i32, usize, usize, usize, usize, i32)>(
                "mask_scores",
            );
        // SAFETY: batch·heads·steps² scores and `batch` lengths.
        emu.launch_as(shapes::grid_stride(g.len()), || unsafe {
            f(scores.as_mut_ptr(), lens_i.as_ptr(), 2, 32, 3, keys, i32::from(causal))
        });
        Cpu::mask_scores(&mut want, &lengths, g);
        for (i, (a, b)) in scores.iter().zip(want.iter()).enumerate() {
            assert!(
                a == b || (a.is_infinite() && b.is_infinite()),
                "mask_scores[{i}] causal {causal}: {a} vs {b}"
            );
        }
    }
    let g = StepBatch { batch: 2, steps: 3, width: 50 };
    let mut x = data(g.len(), 0.5);
    let mut want = buf(&x);
    let z =
        emu.sym::<unsafe extern "C" fn(*mut f32, *const i32, usize, usize, usize)>("zero_padding");
    // SAFETY: batch·steps·width values and `batch` lengths.
    emu.launch_as(shapes::grid_stride(g.len()), || unsafe {
        z(x.as_mut_ptr(), lens_i.as_ptr(), 2, 3, 50)
    });
    Cpu::zero_padding(&mut want, &lengths, g);
    close("zero_padding", &x, &want);
}

#[test]
fn rotary_kernel_matches_the_cpu() {
    use shapeflow_core::backend::{Rotary, Sequence};
    let Some(lib) = build() else { return };
    let emu = Emu(lib);
    for inverse in [false, true] {
        // 30 blocks of 4 steps × 6: the rotated pairs span two blocks.
        let g = Rotary { blocks: 30, steps: 4, head: 6, inverse };
        let x = data(g.len(), 0.4);
        let (cos, sin) = (data(4 * 3, 0.1), data(4 * 3, 0.9));
        let mut y = vec![0.0f32; g.len()];
        let f = emu.sym::<unsafe extern "C" fn(
            *const f32,
            *mut f32,
            *const f32,
            *const f32,
            usize,
            usize,
            usize,
            i32,
        )>("rotary");
        // SAFETY: blocks·steps·head values, steps·head/2 angles.
        emu.launch_as(shapes::grid_stride(g.len() / 2), || unsafe {
            f(x.as_ptr(), y.as_mut_ptr(), cos.as_ptr(), sin.as_ptr(), 30, 4, 6, i32::from(inverse))
        });
        let mut want = buf(&vec![0.0; g.len()]);
        Cpu::rotary(&buf(&x), &mut want, &buf(&cos), &buf(&sin), g);
        close(&format!("rotary inverse {inverse}"), &y, &want);
    }
}

/// The emulation is only worth its threads if it catches what they can break: with the
/// barriers compiled out, the block reduction of `sum` goes wrong, and with `atomicAdd` a
/// plain read-modify-write, `scatter_add_rows` loses additions into a shared row. Both are
/// right in the real build (the tests above).
#[test]
fn a_removed_barrier_or_atomic_makes_the_emulation_fail() {
    let n = 4096;
    let x = data(n, 0.4);
    let want = Cpu::sum(&buf(&x));
    let sum_is_right = |emu: &Emu| -> bool {
        let sum = emu.sym::<unsafe extern "C" fn(*const f32, *mut f64, usize)>("sum");
        let mut partial = vec![0.0f64; shapes::reduction(n).blocks as usize];
        // SAFETY: x has n floats; one partial per block.
        emu.launch_as(shapes::reduction(n), || unsafe { sum(x.as_ptr(), partial.as_mut_ptr(), n) });
        (partial.iter().sum::<f64>() - want).abs() < 1e-6
    };
    let (rows, width) = (2048usize, 1usize);
    let rows_i = vec![0i32; rows];
    let src = vec![1.0f32; rows * width];
    let scatter_is_right = |emu: &Emu| -> bool {
        let sc = emu.sym::<RowsIdxFn>("scatter_add_rows");
        let mut table = vec![0.0f32; width];
        // SAFETY: `rows` ids into a one-row table of `width` floats.
        emu.launch(1, || unsafe {
            sc(src.as_ptr(), rows_i.as_ptr(), table.as_mut_ptr(), rows, width)
        });
        table[0] == rows as f32
    };
    let Some(lib) = build() else { return };
    let good = Emu(lib);
    assert!(sum_is_right(&good) && scatter_is_right(&good), "the real build must be right");
    let Some(no_sync) = build_variant(&["-DSHAPEFLOW_EMU_NO_SYNC"]) else { return };
    let no_sync = Emu(no_sync);
    assert!((0..5).any(|_| !sum_is_right(&no_sync)), "removing __syncthreads() went unnoticed");
    let Some(plain) = build_variant(&["-DSHAPEFLOW_EMU_PLAIN_ATOMIC"]) else { return };
    let plain = Emu(plain);
    assert!((0..5).any(|_| !scatter_is_right(&plain)), "a non-atomic atomicAdd went unnoticed");
}

/// Every kernel of every `.cu` file is called above (a new kernel needs its comparison here).
#[test]
fn every_kernel_is_emulated() {
    let this = [include_str!("emulation.rs"), include_str!("emulation/strided.rs")].concat();
    let missing: Vec<&str> = shapeflow_cuda::kernels::SOURCES
        .iter()
        .flat_map(|(_, src)| shapeflow_cuda::kernels::kernel_names(src))
        .filter(|k| !this.contains(&format!("\"{k}\"")))
        .collect();
    assert!(missing.is_empty(), "kernels never emulated: {missing:?}");
}
