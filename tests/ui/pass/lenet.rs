use shapeflow::prelude::*;

// The corrected versions of the convolution cases: channels, kernels, pools and the flat size
// all agree.
model! {
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 6, 5, padding = 2>,
        act1: Relu,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<6, 16, 5>,
        bn2: BatchNorm2d<16>,
        act2: Relu,
        pool2: MaxPool2d<2, padding = 1>,
        flat: Flatten,
        fc1: Linear<576, 120>,
        act3: Relu,
        fc2: Linear<120, 10>,
    }
}

model! {
    pub struct Tiny {
        input: [3, 8, 8],
        conv1: Conv2d<3, 8, 3>,
        pool1: MaxPool2d<2>,
        conv2: Conv2d<8, 8, 3>,
        flat: Flatten,
        fc: Linear<8, 10>,
    }
}

fn main() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, Const<1>, Const<28>, Const<28>), Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
    let y: Tensor<(Dyn, Const<10>), Cpu> = LeNet::<Cpu>::new(&dev, 0).forward(&x);
    assert_eq!(y.dims(), &[2, 10]);
    let _ = Tiny::<Cpu>::new(&dev, 0);
    let conv = Conv2d::<Const<1>, Const<4>, Const<5>, Cpu>::init(&dev, &mut Rng::new(0));
    let img = Tensor::<(Dyn, Const<1>, Const<5>, Const<5>), Cpu>::zeros(&dev, &[1, 1, 5, 5]).unwrap();
    let out: Tensor<(Dyn, Const<4>, Const<1>, Const<1>), Cpu> = conv.forward_to(&img);
    assert_eq!(out.dims(), &[1, 4, 1, 1]);
}
