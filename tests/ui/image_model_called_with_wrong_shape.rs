use shapeflow::prelude::*;

model! {
    pub struct Cnn {
        input: [1, 28, 28],
        conv: Conv2d<1, 8, 3, padding = 1>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<1568, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let model = Cnn::<Cpu>::new(&dev, 0);
    // Three channels where the model takes one: a 4-D type, and still one short error.
    let x = Tensor::<(Dyn, Const<3>, Const<28>, Const<28>), Cpu>::zeros(&dev, &[2, 3, 28, 28]).unwrap();
    let _ = model.forward(&x);
}
