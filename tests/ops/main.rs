//! One module per op: gradient check against finite differences (f64) and value test against
//! PyTorch (tests/fixtures/pytorch_*.py).

#[path = "../support/mod.rs"]
mod support;

mod activation;
mod attention;
mod batch_norm;
mod batch_norm_relu;
mod bce;
mod clip;
mod conv1d;
mod conv2d;
mod cross_entropy;
mod dropout;
mod embedding;
mod embedding_recurrent;
mod flatten;
mod init;
mod kv_cache;
mod layer_norm;
mod linear;
mod matmul;
mod mse;
mod nll;
mod optim_adagrad;
mod optim_adam;
mod optim_rmsprop;
mod optim_sgd;
mod pool;
mod recurrent;
mod rms_norm;
mod schedule;
mod softmax;
mod tensor;
mod time_pool;
