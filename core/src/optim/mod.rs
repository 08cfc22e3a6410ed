//! Optimizers: SGD (momentum, Nesterov, weight decay) and Adam / AdamW, with PyTorch's update
//! rules. An optimizer is typed by the model it was built for, so it cannot step another model.

mod adam;
mod sgd;
mod state;

pub use adam::{Adam, AdamConfig};
pub use sgd::{Sgd, SgdConfig};
