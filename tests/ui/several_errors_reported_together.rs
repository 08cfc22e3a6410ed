use shapeflow::prelude::*;

// Every DSL error is reported, each at its own token; code using the model adds none.
model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 128>,
        act: Relu,
        fc2: Linear<100, 10>,
        out: Sofmax,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut model = Mlp::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<784>), Cpu>::zeros(&dev, &[1, 784]).unwrap();
    let (y, cache) = model.forward_train(&x);
    let (_, dy) = cross_entropy(&y, &[0]).unwrap();
    let _ = model.backward(&cache, &dy);
}
