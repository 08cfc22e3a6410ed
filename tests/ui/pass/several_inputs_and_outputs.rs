//! The passing twins of input_nothing_reads.rs, output_*.rs and nested_model_with_two_inputs.rs:
//! two inputs, both read; two outputs, declared last; called with one argument per input.
use shapeflow::prelude::*;

type TensorImage = Tensor<(Dyn, Const<3>, Const<8>, Const<8>), Cpu>;

model! {
    pub struct Pair {
        input a: [8],
        input b: [8],
        sum: Add(a, b),
        fc: Linear<8, 4>,
        cls: Linear<4, 2>,
        reg: Linear<4, 1>(fc),
        output (cls, reg),
    }
}

model! {
    /// `several_inputs_given_in_another_order`, called with its inputs in declared order.
    pub struct Tagger {
        input image: [3, 8, 8],
        input meta: [4],
        flat: Flatten(image),
        fc: Linear<192, 4>,
        sum: Add(fc, meta),
        head: Linear<4, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let tagger = Tagger::<Cpu>::new(&dev, 0);
    let image = TensorImage::zeros(&dev, &[2, 3, 8, 8]).unwrap();
    let meta = Tensor::<(Dyn, Const<4>), Cpu>::zeros(&dev, &[2, 4]).unwrap();
    assert_eq!(tagger.forward(&image, &meta).dims(), &[2, 2]);
    let dev = Cpu::default();
    let mut m = Pair::<Cpu>::new(&dev, 0);
    let a = Tensor::<(Dyn, Const<8>), Cpu>::zeros(&dev, &[3, 8]).unwrap();
    let ((cls, reg), cache) = m.forward_train(&a, &a.ones_like());
    let ((da, db), grads) = m.backward_with_input(&cache, (&cls.ones_like(), &reg.ones_like())).unwrap();
    assert_eq!((da.dims(), db.dims(), grads.reg.weight.dims()), (&[3, 8][..], &[3, 8][..], &[1, 4][..]));
    let (cls, _) = m.forward(&a, &a);
    assert_eq!(cls.dims(), &[3, 2]);
}
