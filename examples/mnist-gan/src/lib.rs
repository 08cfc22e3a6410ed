//! The MLP generator and discriminator that `mnist-gan` trains.

use shapeflow::prelude::*;

model! {
    /// Noise to a 28 × 28 image with values in [-1, 1] (the layout of PyTorch-GAN's MLP
    /// generator: batch norm after every hidden layer but the first).
    pub struct Generator {
        input z: [64],
        fc1: Linear<64, 128>,
        act1: LeakyRelu<0.2>,
        fc2: Linear<128, 256>,
        bn2: BatchNorm1d<256>,
        act2: LeakyRelu<0.2>,
        fc3: Linear<256, 512>,
        bn3: BatchNorm1d<512>,
        act3: LeakyRelu<0.2>,
        fc4: Linear<512, 1024>,
        bn4: BatchNorm1d<1024>,
        act4: LeakyRelu<0.2>,
        fc5: Linear<1024, 784>,
        image: Tanh,
    }

    /// An image to one logit: how real it looks.
    pub struct Discriminator {
        input x: [784],
        fc1: Linear<784, 512>,
        act1: LeakyRelu<0.2>,
        fc2: Linear<512, 256>,
        act2: LeakyRelu<0.2>,
        fc3: Linear<256, 1>,
    }
}
