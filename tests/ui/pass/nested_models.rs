//! The passing twins of nested_model_*.rs: a block at two sizes, a head at the size it fits, a
//! sequence of blocks, each model declared before the models that use it.
use shapeflow::prelude::*;

model! {
    /// A residual block on 8 channels of any height and width.
    pub struct Block {
        input x: [8, _, _],
        conv: Conv2d<8, 8, 3, padding = 1>,
        sum: Add(x, conv),
    }

    /// A head for 4 × 4 feature maps.
    pub struct Head {
        input x: [8, _, _],
        flat: Flatten,
        fc: Linear<128, 10>,
    }

    pub struct Net {
        input: [1, 16, 16],
        stem: Conv2d<1, 8, 3, padding = 1>,
        block: Block,
        pool1: MaxPool2d<2>,
        layer2: (Block, Block),
        pool2: MaxPool2d<2>,
        head: Head,
    }
}

fn main() {
    let dev = Cpu::default();
    let mut net = Net::<Cpu>::new(&dev, 0);
    let x = Tensor::<(Dyn, Const<1>, Const<16>, Const<16>), Cpu>::zeros(&dev, &[2, 1, 16, 16]).unwrap();
    let (y, cache) = net.forward_train(&x);
    assert_eq!(y.dims(), &[2, 10]);
    let (dx, grads) = net.backward_with_input(&cache, &y.ones_like()).unwrap();
    assert_eq!((dx.dims(), grads.layer2.1.conv.weight.dims()), (&[2, 1, 16, 16][..], &[8, 8, 3, 3][..]));
}
