//! The 784-512-256-10 MLP that `mnist-mlp` trains.

use shapeflow::prelude::*;

model! {
    /// The classic MNIST multi-layer perceptron.
    pub struct Mlp {
        input: [784],
        fc1: Linear<784, 512>,
        act1: Relu,
        fc2: Linear<512, 256>,
        act2: Relu,
        fc3: Linear<256, 10>,
    }
}
