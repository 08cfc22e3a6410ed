//! The LeNet-style CNN that `mnist-cnn` trains and `serve-mnist` serves.
//!
//! ```
//! use shapeflow::prelude::*;
//! let dev = Cpu::default();
//! let net = mnist_cnn::LeNet::<Cpu>::new(&dev, 0);
//! assert_eq!(net.num_params(), 215_370);
//! ```

use shapeflow::prelude::*;

model! {
    /// LeNet-style digit classifier: every shape below is checked at compile time.
    pub struct LeNet {
        input: [1, 28, 28],
        conv1: Conv2d<1, 16, 5, padding = 2>,   // [16, 28, 28]
        act1: Relu,
        pool1: MaxPool2d<2>,                    // [16, 14, 14]
        conv2: Conv2d<16, 32, 5, padding = 2>,  // [32, 14, 14]
        act2: Relu,
        pool2: MaxPool2d<2>,                    // [32, 7, 7]
        flat: Flatten,                          // [1568]
        fc1: Linear<1568, 128>,
        act3: Relu,
        fc2: Linear<128, 10>,
    }
}
