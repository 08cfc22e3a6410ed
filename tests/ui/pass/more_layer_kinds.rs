use shapeflow::prelude::*;

// The corrected versions of the other layer-rule cases.
model! {
    pub struct Audio {
        input: [2, 100],
        conv1: Conv1d<2, 8, 5>,
        act: Relu,
        conv2: Conv1d<8, 8, 5>,
        bn: BatchNorm1d<8>,
    }
}

model! {
    pub struct Net {
        input: [3, 8, 8],
        conv: Conv2d<3, 4, 3>,
        bn: BatchNorm2d<4>,
        drop: Dropout2d<0.2>,
        pool: MaxPool2d<2>,
        gap: GlobalAvgPool2d,
        fc: Linear<4, 2>,
    }
}

fn main() {
    let dev = Cpu::default();
    assert_eq!(Audio::<Cpu>::new(&dev, 0).summary().rows[3].output, "[batch, 8, 92]");
    assert_eq!(Net::<Cpu>::new(&dev, 0).summary().rows[3].output, "[batch, 4, 3, 3]");
}
