use shapeflow::prelude::*;

// The corrected versions of `merge_shapes_differ.rs`, `add_feature_maps_differ.rs`,
// `narrow_past_the_end.rs`, `nested_model_input_does_not_fit.rs`, `reused_layer_does_not_fit.rs`
// and `input_nothing_reads.rs`, each written as its help says.
model! {
    pub struct Residual {
        input x: [8],
        fc1: Linear<8, 4>,
        act: Relu,
        act_proj: Linear<4, 8>(act),
        sum: Add(x, act_proj),
    }
}

model! {
    pub struct Stage {
        input x: [16, 8, 8],
        conv: Conv2d<16, 32, 3, stride = 2, padding = 1>,
        act: Relu,
        x_proj: Conv2d<16, 32, 1, stride = 2>(x),
        sum: Add(act, x_proj),
    }
}

model! {
    pub struct Glu {
        input x: [8],
        fc: Linear<8, 6>,
        lo: Narrow<0, 3>(fc),
        hi: Narrow<3, 3>(fc),
        glu: Mul(lo, hi),
    }
}

model! {
    pub struct Block {
        input x: [8, _, _],
        conv: Conv2d<8, 8, 3, padding = 1>,
        sum: Add(x, conv),
    }

    pub struct Net {
        input: [1, 12, 12],
        stem: Conv2d<1, 16, 3, padding = 1>,
        stem_proj: Conv2d<16, 8, 1>,
        block: Block,
        gap: GlobalAvgPool2d,
        fc: Linear<8, 10>,
    }
}

model! {
    pub struct Tied {
        input x: [5],
        l1: Linear<5, 4>,
        act: Tanh,
        l2: Linear<4, 4>(act),
    }
}

model! {
    pub struct Pair {
        input a: [8],
        fc: Linear<8, 2>,
    }
}

model! {
    /// `concat_sizes_differ`, with `wide` padded as its help says.
    pub struct Inception {
        input x: [3, 16, 16],
        narrow: Conv2d<3, 8, 1>(x),
        wide: Conv2d<3, 8, 3, padding = 1>(x),
        cat: Concat(narrow, wide),
    }
}

fn main() {
    let dev = Cpu::default();
    assert_eq!(Inception::<Cpu>::new(&dev, 0).summary().rows.last().unwrap().output, "[batch, 16, 16, 16]");
    assert_eq!(Residual::<Cpu>::new(&dev, 0).summary().rows.last().unwrap().output, "[batch, 8]");
    assert_eq!(Stage::<Cpu>::new(&dev, 0).summary().rows.last().unwrap().output, "[batch, 32, 4, 4]");
    assert_eq!(Glu::<Cpu>::new(&dev, 0).summary().rows.last().unwrap().output, "[batch, 3]");
    assert_eq!(Net::<Cpu>::new(&dev, 0).summary().rows.last().unwrap().output, "[batch, 10]");
    assert_eq!(Tied::<Cpu>::new(&dev, 0).num_params(), 5 * 4 + 4 + 4 * 4 + 4);
    assert_eq!(Pair::<Cpu>::new(&dev, 0).num_params(), 8 * 2 + 2);
}
