//! Built-in layers. Each file holds one layer (or one family): its struct, forward and backward.

mod activation;
mod batch_norm;
mod conv;
mod dropout;
mod embedding;
mod flatten;
mod layer_norm;
mod linear;
mod lstm;
mod merge;
mod narrow;
mod per_step;
mod pool;
mod recurrent;
mod sequential;
mod softmax;
mod time_pool;

pub use activation::{Gelu, LeakyRelu, Relu, Sigmoid, Tanh};
pub use batch_norm::{BatchNorm, BatchNorm1d, BatchNorm2d, BatchNormCache};
pub use conv::{Conv1d, Conv2d, ConvCache};
pub use dropout::{ChannelMask, Dropout, Dropout2d};
pub use embedding::{Embedding, EmbeddingCache};
pub use flatten::Flatten;
pub use layer_norm::{LayerNorm, LayerNormCache};
pub use linear::Linear;
pub use lstm::{Lstm, LstmCache};
pub use merge::{Add, Concat, ConcatSizes, Merge, Mul, MulCache, Sub};
pub use narrow::{Narrow, NarrowCache};
pub use per_step::{PerStep, PerStepCache};
pub use pool::{AvgPool2d, GlobalAvgPool2d, MaxPool2d, MaxPoolCache};
pub use recurrent::RecurrentWeights;
pub use softmax::{LogSoftmax, Softmax};
pub use time_pool::{LastStep, MeanOverTime, TimePoolCache};
