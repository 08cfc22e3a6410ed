use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let model = Mlp::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<100>), Cpu>::zeros(&dev, &[1, 100]).unwrap();
    let _ = model.forward(&x);
}
