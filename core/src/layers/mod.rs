//! Built-in layers. Each file holds one layer (or one family): its struct, forward and backward.

mod activation;
mod dropout;
mod linear;
mod softmax;

pub use activation::{Gelu, LeakyRelu, Relu, Sigmoid, Tanh};
pub use dropout::Dropout;
pub use linear::Linear;
pub use softmax::{LogSoftmax, Softmax};
