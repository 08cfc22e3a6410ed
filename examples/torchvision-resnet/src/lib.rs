//! torchvision's ResNets declared with `model!`: each block once, parameterised by its sizes,
//! its projection shortcut present only where the block changes size. Parameter names and
//! layouts are torchvision's (`layer2.0.downsample.0.weight`), so its `state_dict`s load by
//! name (`tests/pytorch_twins.rs`).
//!
//! ```no_run
//! use shapeflow::prelude::*;
//! use torchvision_resnet::ResNet18;
//!
//! let model = ResNet18::<Cpu>::new(&Cpu::default(), 0);
//! assert_eq!(model.num_params(), 11_689_512);
//! ```

use shapeflow::prelude::*;

model! {
    /// torchvision's `BasicBlock` (ResNet-18 and -34): two 3×3 convolutions, and a 1×1
    /// projection shortcut where the block changes its size or channels.
    pub struct BasicBlock<const IN: usize, const OUT: usize, const STRIDE: usize = 1> {
        input x: [IN, _, _],
        conv1: Conv2d<IN, OUT, 3, stride = STRIDE, padding = 1, bias = false>,
        bn1: BatchNorm2d<OUT>,
        relu1: Relu,
        conv2: Conv2d<OUT, OUT, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<OUT>,
        #[when(STRIDE != 1 || IN != OUT)]
        downsample: (Conv2d<IN, OUT, 1, stride = STRIDE, bias = false>, BatchNorm2d<OUT>)(x),
        sum: Add(bn2, downsample),
        relu2: Relu,
    }

    /// torchvision's `Bottleneck` (ResNet-50 and deeper): 1×1 down to `WIDTH`, 3×3 with the
    /// stride (ResNet v1.5), 1×1 up to `WIDTH * 4` channels.
    pub struct Bottleneck<const IN: usize, const WIDTH: usize, const STRIDE: usize = 1> {
        input x: [IN, _, _],
        conv1: Conv2d<IN, WIDTH, 1, bias = false>,
        bn1: BatchNorm2d<WIDTH>,
        relu1: Relu,
        conv2: Conv2d<WIDTH, WIDTH, 3, stride = STRIDE, padding = 1, bias = false>,
        bn2: BatchNorm2d<WIDTH>,
        relu2: Relu,
        conv3: Conv2d<WIDTH, WIDTH * 4, 1, bias = false>,
        bn3: BatchNorm2d<WIDTH * 4>,
        #[when(STRIDE != 1 || IN != WIDTH * 4)]
        downsample: (Conv2d<IN, WIDTH * 4, 1, stride = STRIDE, bias = false>, BatchNorm2d<WIDTH * 4>)(x),
        sum: Add(bn3, downsample),
        relu3: Relu,
    }

    /// torchvision's `resnet18()`: 1000 ImageNet classes from 3×224×224 images.
    pub struct ResNet18 {
        input: [3, 224, 224],
        conv1: Conv2d<3, 64, 7, stride = 2, padding = 3, bias = false>,
        bn1: BatchNorm2d<64>,
        relu: Relu,
        maxpool: MaxPool2d<3, stride = 2, padding = 1>,
        layer1: (BasicBlock<64, 64>, BasicBlock<64, 64>),
        layer2: (BasicBlock<64, 128, 2>, BasicBlock<128, 128>),
        layer3: (BasicBlock<128, 256, 2>, BasicBlock<256, 256>),
        layer4: (BasicBlock<256, 512, 2>, BasicBlock<512, 512>),
        avgpool: GlobalAvgPool2d,
        fc: Linear<512, 1000>,
    }

    /// torchvision's `resnet34()`: BasicBlocks in stages of 3, 4, 6 and 3.
    pub struct ResNet34 {
        input: [3, 224, 224],
        conv1: Conv2d<3, 64, 7, stride = 2, padding = 3, bias = false>,
        bn1: BatchNorm2d<64>,
        relu: Relu,
        maxpool: MaxPool2d<3, stride = 2, padding = 1>,
        layer1: (BasicBlock<64, 64>, BasicBlock<64, 64>, BasicBlock<64, 64>),
        layer2: (BasicBlock<64, 128, 2>, BasicBlock<128, 128>, BasicBlock<128, 128>, BasicBlock<128, 128>),
        layer3: (
            BasicBlock<128, 256, 2>, BasicBlock<256, 256>, BasicBlock<256, 256>,
            BasicBlock<256, 256>, BasicBlock<256, 256>, BasicBlock<256, 256>,
        ),
        layer4: (BasicBlock<256, 512, 2>, BasicBlock<512, 512>, BasicBlock<512, 512>),
        avgpool: GlobalAvgPool2d,
        fc: Linear<512, 1000>,
    }

    /// torchvision's `resnet50()`: Bottlenecks in stages of 3, 4, 6 and 3.
    pub struct ResNet50 {
        input: [3, 224, 224],
        conv1: Conv2d<3, 64, 7, stride = 2, padding = 3, bias = false>,
        bn1: BatchNorm2d<64>,
        relu: Relu,
        maxpool: MaxPool2d<3, stride = 2, padding = 1>,
        layer1: (Bottleneck<64, 64>, Bottleneck<256, 64>, Bottleneck<256, 64>),
        layer2: (Bottleneck<256, 128, 2>, Bottleneck<512, 128>, Bottleneck<512, 128>, Bottleneck<512, 128>),
        layer3: (
            Bottleneck<512, 256, 2>, Bottleneck<1024, 256>, Bottleneck<1024, 256>,
            Bottleneck<1024, 256>, Bottleneck<1024, 256>, Bottleneck<1024, 256>,
        ),
        layer4: (Bottleneck<1024, 512, 2>, Bottleneck<2048, 512>, Bottleneck<2048, 512>),
        avgpool: GlobalAvgPool2d,
        fc: Linear<2048, 1000>,
    }
}
