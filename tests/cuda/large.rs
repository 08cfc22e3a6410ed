//! Sizes that span many blocks on the GPU: products whose weight gradients take cuBLAS's
//! transposed paths, convolutions and batch norm over planes larger than a block, softmax rows
//! longer than a warp, `clamp` with NaN, and a grid-stride loop past the 65 535-block cap.

use shapeflow::Cuda;
use shapeflow::backend::Elementwise;
use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

use super::on_gpu::{close, gpu, same_layer};

#[test]
fn layers_at_sizes_that_span_many_blocks_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let mut a = <Linear<U300, U200, Cpu> as Init<Cpu>>::init(&Cpu::default(), &mut Rng::new(1));
    let mut b = <Linear<U300, U200, Cuda> as Init<Cuda>>::init(&dev, &mut Rng::new(1));
    same_layer::<(Dyn, U300), _, _>("Linear 300→200", &mut a, &mut b, &[130, 300], &dev);
    type C = Conv2d<U8, U16, U3, Cpu, U1, U1, U1>;
    let mut a = <C as Init<Cpu>>::init(&Cpu::default(), &mut Rng::new(2));
    let mut b = <Conv2d<U8, U16, U3, Cuda, U1, U1, U1> as Init<Cuda>>::init(&dev, &mut Rng::new(2));
    same_layer::<(Dyn, U8, U20, U20), _, _>("Conv2d 8→16", &mut a, &mut b, &[6, 8, 20, 20], &dev);
    let mut a = <BatchNorm2d<U8, Cpu> as Init<Cpu>>::init(&Cpu::default(), &mut Rng::new(3));
    let mut b = <BatchNorm2d<U8, Cuda> as Init<Cuda>>::init(&dev, &mut Rng::new(3));
    same_layer::<(Dyn, U8, U20, U20), _, _>("BatchNorm2d", &mut a, &mut b, &[16, 8, 20, 20], &dev);
    same_layer::<(Dyn, U300), _, _>("Softmax", &mut Softmax, &mut Softmax, &[1000, 300], &dev);
    same_layer::<(Dyn, U300), _, _>(
        "LogSoftmax",
        &mut LogSoftmax,
        &mut LogSoftmax,
        &[1000, 300],
        &dev,
    );
    same_layer::<(Dyn, U8, U20, U20), _, _>(
        "MaxPool2d",
        &mut MaxPool2d::<U2, U2, U0>::default(),
        &mut MaxPool2d::<U2, U2, U0>::default(),
        &[16, 8, 20, 20],
        &dev,
    );
}

#[test]
fn clamp_and_a_grid_past_the_block_cap_match_the_cpu() {
    let Some(dev) = gpu() else { return };
    let cpu = Cpu::default();
    let mut v: Vec<f32> = (0..5000).map(|i| ((i * 37 % 101) as f32 - 50.0) / 10.0).collect();
    v[17] = f32::NAN;
    let (mut want, mut got) = (cpu.upload(&v), dev.upload(&v));
    <Cpu as Elementwise>::clamp(&mut want, -2.0, 3.0);
    <Cuda as Elementwise>::clamp(&mut got, -2.0, 3.0);
    let (want, got) = (<Cpu as Device>::to_host(&want), <Cuda as Device>::to_host(&got));
    assert!(got[17].is_nan() && want[17].is_nan(), "clamp passes NaN through");
    let finite =
        |v: &[f32]| v.iter().map(|x| if x.is_nan() { 0.0 } else { *x }).collect::<Vec<_>>();
    close("clamp", &finite(&got), &finite(&want));
    // 65 535 blocks × 256 threads = 16 776 960: every element past it is reached by the loop.
    let n = 20_000_000;
    let x: Vec<f32> = (0..n).map(|i| (i % 1000) as f32).collect();
    let mut g = dev.upload(&x);
    <Cuda as Elementwise>::scale(&mut g, 0.5);
    let back = <Cuda as Device>::to_host(&g);
    let wrong = back.iter().zip(&x).position(|(b, x)| *b != x * 0.5);
    assert_eq!(wrong, None, "element {wrong:?} of {n} was not scaled");
    dev.check().unwrap();
}
