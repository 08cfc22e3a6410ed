use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 0);
    let images = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::zeros(&dev, &[1, 1, 28, 28]).unwrap();
    let _ = model.forward_train(&images);
}
