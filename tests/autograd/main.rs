//! The tensor op set and define-by-run autograd: every op's gradient against finite
//! differences in f64 (broadcast and reduced axes included), values and gradients against
//! PyTorch (tests/fixtures/pytorch_ops.py), random compositions of ops, the autograd rules
//! (accumulation, freed graphs, seeds, `no_grad`), and a layer written as forward code.

mod check;
mod custom_layer;
mod custom_loss;
mod finite_differences;
mod pytorch_values;
mod random_compositions;
mod semantics;
