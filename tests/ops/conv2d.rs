//! Conv2d: PyTorch values for stride, padding and dilation; gradient checks.

use shapeflow::dim_arith::ConvOut;
use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

use crate::support::{assert_close, check_layer, conv_fixture, input, nums, tensor};

type X = (Dyn, U3, U7, U6);

fn case<S, P, D>(index: usize)
where
    S: shapeflow::StaticDim,
    P: shapeflow::StaticDim,
    D: shapeflow::StaticDim,
    U7: ConvOut<U3, S, P, D>,
    U6: ConvOut<U3, S, P, D>,
{
    let f = conv_fixture();
    let c = &f["conv2d"];
    let want = &c["cases"][index];
    let mut conv = Conv2d::<U3, U4, U3, Cpu64, S, P, D>::init(&Cpu64::default(), &mut Rng::new(0));
    conv.weight = tensor(&[4, 3, 3, 3], &c["w"]);
    conv.bias = Some(tensor(&[4], &c["b"]));
    let x = tensor::<X>(&[2, 3, 7, 6], &c["x"]);
    let (y, cache) = conv.forward_train(&x);
    let shape: Vec<usize> =
        want["y_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(y.dims(), &shape[..], "case {index} output shape");
    assert_close(&format!("conv2d case {index} y"), &y.to_vec(), &nums(&want["y"]), 1e-10, 1e-12);
    let r = Tensor::from_vec(&Cpu64::default(), y.dims(), nums(&want["r"])).unwrap();
    let (dx, g) = Layer::<X, Cpu64>::backward(&conv, &cache, &r).unwrap();
    assert_close(
        &format!("conv2d case {index} dx"),
        &dx.to_vec(),
        &nums(&want["dx"]),
        1e-10,
        1e-12,
    );
    assert_close(
        &format!("conv2d case {index} dw"),
        &g.weight.to_vec(),
        &nums(&want["dw"]),
        1e-10,
        1e-12,
    );
    assert_close(
        &format!("conv2d case {index} db"),
        &g.bias.as_ref().unwrap().to_vec(),
        &nums(&want["db"]),
        1e-10,
        1e-12,
    );
}

#[test]
fn conv2d_matches_pytorch_plain() {
    case::<U1, U0, U1>(0);
}

#[test]
fn conv2d_matches_pytorch_stride_2_padding_1() {
    case::<U2, U1, U1>(1);
}

#[test]
fn conv2d_matches_pytorch_padding_2_dilation_2() {
    case::<U1, U2, U2>(2);
}

#[test]
fn conv2d_matches_pytorch_stride_2_dilation_2() {
    case::<U2, U0, U2>(3);
}

#[test]
fn conv2d_gradient_checks() {
    let dev = Cpu64::default();
    let mut c = Conv2d::<U2, U3, U3, Cpu64, U2, U1, U1>::init(&dev, &mut Rng::new(1));
    check_layer("Conv2d s2 p1", &mut c, &input::<(Dyn, U2, U6, U5)>(&[2, 2, 6, 5], 50));
    let mut c = Conv2d::<U2, U2, U2, Cpu64, U1, U1, U2>::init(&dev, &mut Rng::new(2));
    check_layer("Conv2d p1 d2", &mut c, &input::<(Dyn, U2, U5, U5)>(&[2, 2, 5, 5], 51));
}

#[test]
fn conv2d_init_follows_pytorch_bounds() {
    let c = Conv2d::<U6, U16, U5, Cpu, U1, U0, U1>::init(&Cpu::default(), &mut Rng::new(3));
    let bound = 1.0 / (6.0f32 * 25.0).sqrt();
    assert!(
        c.weight
            .to_vec()
            .iter()
            .chain(c.bias.as_ref().unwrap().to_vec().iter())
            .all(|v| v.abs() <= bound)
    );
    assert_eq!(c.weight.dims(), &[16, 6, 5, 5]);
}

#[test]
fn conv2d_large_weight_gradient_matches_a_direct_sum() {
    // 32 × 16·3·3 = 4,608 weights: the transposed weight-gradient path.
    let dev = Cpu64::default();
    let mut conv = Conv2d::<U16, U32, U3, Cpu64, U1, U1, U1>::init(&dev, &mut Rng::new(7));
    let (n, h, w) = (2, 5, 4);
    let x = input::<(Dyn, U16, U5, U4)>(&[n, 16, h, w], 80);
    let (y, cache) = conv.forward_train(&x);
    let r = input::<(Dyn, U32, U5, U4)>(y.dims(), 81);
    let (_, g) = Layer::<(Dyn, U16, U5, U4), Cpu64>::backward(&conv, &cache, &r).unwrap();
    let (xv, rv, dw) = (x.to_vec(), r.to_vec(), g.weight.to_vec());
    for o in 0..32 {
        for c in 0..16 {
            for i in 0..3 {
                for j in 0..3 {
                    let mut want = 0.0;
                    for b in 0..n {
                        for oy in 0..h {
                            for ox in 0..w {
                                let (iy, ix) =
                                    (oy as isize + i as isize - 1, ox as isize + j as isize - 1);
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    want += rv[((b * 32 + o) * h + oy) * w + ox]
                                        * xv[((b * 16 + c) * h + iy as usize) * w + ix as usize];
                                }
                            }
                        }
                    }
                    let got = dw[((o * 16 + c) * 3 + i) * 3 + j];
                    assert!((got - want).abs() < 1e-10, "dW[{o},{c},{i},{j}]: {got} vs {want}");
                }
            }
        }
    }
}

/// The CPU backend's sample-by-sample convolution (`conv_samples.rs`) against the composed
/// default (one batch-wide unfold and product): batches that do and do not split evenly over
/// the workers, strides, padding, dilation, with and without the input gradient.
#[test]
fn sample_by_sample_convolution_equals_the_batch_wide_products() {
    use shapeflow::backend::{
        Conv, ConvGeom, ConvGrads, Device, Window2d, conv2d_backward_composed, conv2d_composed,
    };
    let dev = Cpu64::default();
    let mut rng = Rng::new(3);
    let mut fill = |n: usize| dev.upload(&(0..n).map(|_| rng.normal()).collect::<Vec<f64>>());
    // Output planes larger than 14 × 14, which the CPU backend runs sample by sample (smaller
    // ones run as one product over the batch: the last case), 1×1 kernels read in place.
    for (n, c, hw, o, k, s, p, d) in [
        (2, 3, 17, 4, 3, 1, 1, 1),
        (5, 2, 33, 3, 3, 2, 0, 1),
        (3, 4, 18, 5, 2, 1, 2, 2),
        (7, 1, 16, 2, 5, 1, 2, 1),
        (3, 6, 15, 4, 1, 1, 0, 1),
        (2, 4, 32, 5, 1, 2, 0, 1),
        (2, 3, 7, 4, 3, 1, 1, 1),
    ] {
        let window = Window2d::new([n, c, hw, hw], [k, k], [s, s], [p, p], [d, d]).unwrap();
        let geom = ConvGeom { window, out_channels: o };
        let (rows, per) = (window.col_rows(), window.col_cols());
        let (x, w, dy) = (fill(n * c * hw * hw), fill(o * rows), fill(n * o * per));
        let (mut y, mut want) = (dev.zeros(n * o * per), dev.zeros(n * o * per));
        Cpu64::conv2d(&x, &w, &mut y, geom);
        conv2d_composed::<Cpu64>(&x, &w, &mut want, geom);
        let case =
            format!("n {n}, c {c}, {hw}², o {o}, k {k}, stride {s}, padding {p}, dilation {d}");
        assert_close(
            &format!("y ({case})"),
            &Cpu64::to_host(&y),
            &Cpu64::to_host(&want),
            1e-12,
            1e-12,
        );
        for with_dx in [true, false] {
            let (mut dw, mut dx) = (dev.zeros(o * rows), dev.zeros(n * c * hw * hw));
            let (mut dw_want, mut dx_want) = (dev.zeros(o * rows), dev.zeros(n * c * hw * hw));
            let grads = ConvGrads { dweight: &mut dw, dx: with_dx.then_some(&mut dx) };
            Cpu64::conv2d_backward(&x, &w, &dy, grads, geom);
            let grads = ConvGrads { dweight: &mut dw_want, dx: with_dx.then_some(&mut dx_want) };
            conv2d_backward_composed::<Cpu64>(&x, &w, &dy, grads, geom);
            assert_close(
                &format!("dW ({case})"),
                &Cpu64::to_host(&dw),
                &Cpu64::to_host(&dw_want),
                1e-12,
                1e-12,
            );
            if with_dx {
                assert_close(
                    &format!("dx ({case})"),
                    &Cpu64::to_host(&dx),
                    &Cpu64::to_host(&dx_want),
                    1e-12,
                    1e-12,
                );
            }
        }
    }
}
