//! Generated models: whole-model gradient check, parameter names, summary, custom layers via
//! `#[derive(Module)]`, nesting, and training that lowers the loss.

#[path = "../support/mod.rs"]
mod support;

mod conv_models;
mod custom_layer;
mod generated;
mod graph;
mod graph_models;
mod input_gradients;
mod multi_io;
mod nested_models;
mod param_models;
mod profile;
mod sequences;
mod shape_rules_agree;
mod transformer;
mod w2_reference;
