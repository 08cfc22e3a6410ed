use shapeflow::prelude::*;

model! {
    pub struct Small {
        input: [4],
        fc: Linear<4, 2>,
    }
}

model! {
    pub struct Large {
        input: [4],
        fc1: Linear<4, 8>,
        fc2: Linear<8, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let small = Small::<Cpu>::new(&dev, 0);
    let mut target = Small::<Cpu>::new(&dev, 2);
    let mut opt = Adam::new(&small, AdamConfig::default());
    // Gradients computed for another model than the one stepped.
    let grads = Large::<Cpu>::new(&dev, 1);
    opt.step(&mut target, &grads).unwrap();
}
