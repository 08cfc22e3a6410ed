use shapeflow::prelude::*;

model! {
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 256>,
        act1: Relu,
        fc2: Linear<256, 10>,
    }
}

fn main() {
    let _ = Mlp::<Cpu>::new(&Cpu::default(), 0);
}
