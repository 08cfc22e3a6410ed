//! The small ResNet that `mnist-resnet` trains: torchvision's `BasicBlock`, declared once and used in three stages.

use shapeflow::prelude::*;

model! {
    /// torchvision's `BasicBlock`: two bias-free 3×3 convolutions with batch norm, the block's
    /// input added back before the last ReLU. `_`: any height and width.
    pub struct BasicBlock {
        input x: [32, _, _],
        conv1: Conv2d<32, 32, 3, padding = 1, bias = false>,
        bn1: BatchNorm2d<32>,
        relu1: Relu,
        conv2: Conv2d<32, 32, 3, padding = 1, bias = false>,
        bn2: BatchNorm2d<32>,
        sum: Add(x, bn2),
        relu2: Relu,
    }

    /// The digit classifier; each stage is a sequence of blocks, as in torchvision.
    pub struct ResNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 32, 3, padding = 1, bias = false>,  // [32, 28, 28]
        bn1: BatchNorm2d<32>,
        relu: Relu,
        layer1: (BasicBlock,),                                // [32, 28, 28]
        pool1: MaxPool2d<2>,                                  // [32, 14, 14]
        layer2: (BasicBlock,),
        pool2: MaxPool2d<2>,                                  // [32, 7, 7]
        layer3: (BasicBlock,),
        avgpool: GlobalAvgPool2d,                             // [32]
        fc: Linear<32, 10>,
    }
}
