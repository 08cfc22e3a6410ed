use shapeflow::prelude::*;

model! {
    pub struct Body {
        input: [784],
        fc: Linear<784, 128>,
        act: Relu,
    }
}

model! {
    pub struct Head {
        input: [64],
        fc: Linear<64, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let (body, head) = (Body::<Cpu>::new(&dev, 0), Head::<Cpu>::new(&dev, 1));
    let x = BodyInput::<Cpu>::zeros(&dev, &[1, 784]).unwrap();
    // No annotation anywhere: the mismatch is still caught.
    let _ = head.forward(&body.forward(&x));
}
