//! W9: torchvision's ResNet-34 (`examples/torchvision-resnet`) at 3×224×224: a training step
//! at batch 8 (forward, cross-entropy over 1000 classes, generated backward, SGD with momentum)
//! in samples/s, and inference at batch 1 in ms.

use shapeflow::prelude::*;
use torchvision_resnet::ResNet34;

use crate::figure::Figure;
use crate::workloads::times;

type Images = (Dyn, Const<3>, Const<224>, Const<224>);

pub fn w9_resnet34(out: &mut Vec<Figure>) {
    let dev = Cpu::default();
    let mut model = ResNet34::<Cpu>::new(&dev, 0);
    let batch = 8;
    let x = Tensor::<Images, Cpu>::rand_uniform(&dev, &[batch, 3, 224, 224], 0.0, 1.0, 1)
        .expect("sizes");
    let labels: Vec<usize> = (0..batch).map(|i| i * 127 % 1000).collect();
    let sgd = SgdConfig { lr: 0.01, momentum: 0.9, ..Default::default() };
    let mut opt = Sgd::new(&model, sgd);
    let t = Cpu::on_workers(|| {
        times(1, 5, || {
            let (logits, cache) = model.forward_train(&x);
            let (_, d) = cross_entropy(&logits, &labels).expect("finite loss");
            let grads = model.backward_params(&cache, &d).expect("backward");
            opt.step(&mut model, &grads).expect("step");
        })
    });
    out.push(Figure::new(
        "shapeflow",
        "w9",
        "b8-train",
        "samples/s",
        t.iter().map(|s| batch as f64 / s),
    ));
    let one =
        Tensor::<Images, Cpu>::rand_uniform(&dev, &[1, 3, 224, 224], 0.0, 1.0, 2).expect("sizes");
    let t = Cpu::on_workers(|| {
        times(2, 10, || {
            std::hint::black_box(model.forward(&one));
        })
    });
    out.push(Figure::new("shapeflow", "w9", "b1-infer", "ms", t.iter().map(|s| s * 1e3)));
}
