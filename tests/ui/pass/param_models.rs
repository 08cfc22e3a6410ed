//! The passing twins of the `param_*` cases: each corrected as its error says.
use shapeflow::prelude::*;

model! {
    /// `param_block_wrong_channels`: built for the 16 channels it is given.
    pub struct Block<const IN: usize, const OUT: usize, const STRIDE: usize = 1> {
        input x: [IN, _, _],
        conv: Conv2d<IN, OUT, 3, stride = STRIDE, padding = 1>,
        act: Relu,
    }

    pub struct Net {
        input: [3, 32, 32],
        stem: Conv2d<3, 16, 3, padding = 1>,
        block: Block<16, 64>,
        down: Block<IN = 64, OUT = 64, STRIDE = 2>,
        gap: GlobalAvgPool2d,
        fc: Linear<64, 10>,
    }

    /// `param_build_fails_at_its_sizes`: the `Linear` takes the flattened size.
    pub struct Head<const C: usize> {
        input: [C, 4, 4],
        flat: Flatten,
        fc: Linear<C * 4 * 4, 10>,
    }

    pub struct HeadNet {
        input: [8, 4, 4],
        head: Head<8>,
    }

    /// `param_name_misspelt` and `param_size_below_zero`: a default builds it on its own.
    pub struct Mlp<const HIDDEN: usize = 64> {
        input: [784],
        fc: Linear<784, HIDDEN>,
        act: Relu,
        shrink: Linear<HIDDEN, HIDDEN - 16>,
    }

    /// `param_block_never_used`: used, so built.
    pub struct Wide {
        input: [784],
        mlp: Mlp<128>,
        fc: Linear<112, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let net = Net::<Cpu>::new(&dev, 0);
    let _: &Block<Cpu, 64, 64, 2> = &net.down;
    let _ = HeadNet::<Cpu>::new(&dev, 0);
    let _ = Mlp::<Cpu>::new(&dev, 0);
    let wide = Wide::<Cpu>::new(&dev, 0);
    let _: &Mlp<Cpu, 128> = &wide.mlp;
}
