//! Data: the IDX reader (MNIST's format, gzip accepted), the MNIST loader and a seeded,
//! shuffling batch iterator.

mod batches;
mod idx;
mod mnist;

pub use batches::{Batch, Batches, Dataset};
pub use idx::{IdxImages, read_idx_images, read_idx_labels};
pub use mnist::Mnist;
