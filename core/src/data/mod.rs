//! Data: the IDX reader (MNIST's format, gzip accepted), the MNIST loader and a seeded,
//! shuffling batch iterator, shuffled splits and per-feature standardisation.

mod batches;
mod idx;
mod mnist;
mod standardize;

pub use batches::{Batch, Batches, Dataset};
pub use idx::{IdxImages, read_idx_images, read_idx_labels};
pub use mnist::Mnist;
pub use standardize::Standardizer;
