use shapeflow::prelude::*;

model! {
    /// The corrected versions of the graph compile-fail cases.
    pub struct Residual {
        input x: [8],
        fc1: Linear<8, 8>,
        act: Relu,
        sum: Add(x, act),
        side: Linear<8, 8>(x),
        gated: Mul(sum, side),
        fc2: Linear<8, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut m = Residual::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<8>), Cpu>::from_batch(&dev, 2, vec![0.5; 16]).unwrap();
    let (y, cache) = m.forward_train(&x);
    let grads = m.backward(&cache, &y).unwrap();
    assert_eq!(grads.num_params(), m.num_params());
    assert_eq!(m.graph().node("gated").unwrap().inputs, ["sum", "side"]);
}
