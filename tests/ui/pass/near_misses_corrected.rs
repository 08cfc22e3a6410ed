use shapeflow::prelude::*;

// The corrected versions of `near_misses_of_kinds_and_arguments.rs` and
// `size_written_as_a_number.rs`.
model! {
    pub struct Cnn {
        input: [1, 28, 28],
        conv: Conv2d<1, 8, 3, stride = 2>,
        act: Relu,
        flat: Flatten,
        fc: Linear<1352, out_features = 10>,
    }
}

model! {
    pub struct Mlp {
        input: [64],
        fc1: Linear<64, 32>,
        fc2: Linear<32, 1>,
    }
}

fn main() {
    assert_eq!(Cnn::<Cpu>::new(&Cpu::default(), 0).summary().rows[2].output, "[batch, 1352]");
    assert_eq!(Mlp::<Cpu>::new(&Cpu::default(), 0).num_params(), 64 * 32 + 32 + 33);
}
