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

model! {
    /// The corrected version of `concat_sizes_differ.rs`: the wide branch keeps its size.
    pub struct Inception {
        input x: [3, 16, 16],
        narrow: Conv2d<3, 8, 1>(x),
        wide: Conv2d<3, 8, 3, padding = 1>(x),
        cat: Concat(narrow, wide),
    }
}

model! {
    /// The corrected version of `reused_layer_does_not_fit.rs`: a square layer can be reused.
    pub struct Tied {
        input x: [5],
        l1: Linear<5, 5>,
        act: Tanh,
        l2: l1(act),
    }
}

model! {
    /// The corrected version of `narrow_past_the_end.rs`: two halves of six features.
    pub struct Glu {
        input x: [8],
        fc: Linear<8, 6>,
        lo: Narrow<0, 3>(fc),
        hi: Narrow<3, 3>(fc),
        glu: Mul(lo, hi),
    }
}

fn main() {
    assert_eq!(Glu::<Cpu>::new(&Cpu::default(), 0).summary().rows[3].output, "[batch, 3]");
    assert_eq!(Tied::<Cpu>::new(&Cpu::default(), 0).num_params(), 30);
    let inception = Inception::<Cpu>::new(&Cpu::default(), 0);
    assert_eq!(inception.summary().rows[2].output, "[batch, 16, 16, 16]");
    let dev = Cpu::default();
    let mut m = Residual::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<8>), Cpu>::from_batch(&dev, 2, vec![0.5; 16]).unwrap();
    let (y, cache) = m.forward_train(&x);
    let grads = m.backward(&cache, &y).unwrap();
    assert_eq!(grads.num_params(), m.num_params());
    assert_eq!(m.graph().node("gated").unwrap().inputs, ["sum", "side"]);
}
