//! `Conv1d` and `Conv2d`: ONNX `Conv` with PyTorch's symmetric padding, stride and dilation.

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, ints};

pub fn conv(b: &mut Builder, s: &Site) -> Result<()> {
    let spatial = if s.node.op == "Conv1d" { 1 } else { 2 };
    let (k, stride, pad, dilation) =
        (s.int("kernel_size")?, s.int("stride")?, s.int("padding")?, s.int("dilation")?);
    let w = b.weight(&s.param("weight"))?;
    let mut inputs = vec![s.inputs[0].clone(), w];
    if s.flag("bias", true) {
        inputs.push(b.weight(&s.param("bias"))?);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let attrs = vec![
        ints("kernel_shape", &vec![k; spatial]),
        ints("strides", &vec![stride; spatial]),
        ints("pads", &vec![pad; 2 * spatial]),
        ints("dilations", &vec![dilation; spatial]),
    ];
    b.node("Conv", &inputs, &s.output, attrs);
    Ok(())
}
