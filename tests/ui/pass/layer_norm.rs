use shapeflow::prelude::*;

model! {
    pub struct Tagger {
        input: [16],
        fc1: Linear<16, 128>,
        norm: LayerNorm<128>,
        act: Gelu,
        fc2: Linear<128, 4>,
        out_norm: LayerNorm<4, eps = 1e-6, elementwise_affine = false>,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut m = Tagger::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<16>), Cpu>::from_batch(&dev, 2, vec![0.1; 32]).unwrap();
    let (y, cache) = m.forward_train(&x);
    let _grads = m.backward(&cache, &y).unwrap();
    assert_eq!(m.graph().nodes[1].params.len(), 2);
    assert!(m.graph().nodes[4].params.is_empty());
}
