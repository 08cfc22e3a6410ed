//! `MaxPool2d` and `AvgPool2d` (`count_include_pad = 1`, PyTorch's default) as ONNX's pools;
//! `GlobalAvgPool2d` as `GlobalAveragePool` then `Flatten` (its output is `[batch, C]`).

use shapeflow_core::Result;

use super::Site;
use crate::builder::{Builder, int, ints};

pub fn pool(b: &mut Builder, s: &Site) -> Result<()> {
    let (k, stride, pad) = (s.int("kernel_size")?, s.int("stride")?, s.int("padding")?);
    let mut attrs = vec![
        ints("kernel_shape", &[k, k]),
        ints("strides", &[stride, stride]),
        ints("pads", &[pad, pad, pad, pad]),
    ];
    let op = if s.node.op == "MaxPool2d" {
        "MaxPool"
    } else {
        attrs.push(int("count_include_pad", 1));
        "AveragePool"
    };
    b.node(op, &[&s.inputs[0]], &s.output, attrs);
    Ok(())
}

pub fn global_avg_pool(b: &mut Builder, s: &Site) -> Result<()> {
    let pooled =
        b.step("GlobalAveragePool", &[&s.inputs[0]], &format!("{}/pool", s.output), vec![]);
    b.node("Flatten", &[&pooled], &s.output, vec![int("axis", 1)]);
    Ok(())
}
