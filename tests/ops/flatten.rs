//! Flatten: values by construction (a reshape), gradient check, type-level sizes.

use shapeflow::prelude::*;
use shapeflow::typenum::consts::*;

use crate::support::{check_layer, input};

#[test]
fn flatten_keeps_row_major_order_and_computes_the_product_type() {
    let dev = Cpu::default();
    let x = Tensor::<(Dyn, U2, U3, U4), Cpu>::from_vec(
        &dev,
        &[2, 2, 3, 4],
        (0..48).map(|v| v as f32).collect(),
    )
    .unwrap();
    let y: Tensor<(Dyn, U24), Cpu> = Flatten.forward(&x);
    assert_eq!(y.dims(), &[2, 24]);
    assert_eq!(y.to_vec(), x.to_vec());
    check_layer("Flatten", &mut Flatten, &input::<(Dyn, U2, U3, U2)>(&[2, 2, 3, 2], 63));
    let z: Tensor<(Dyn, U7), Cpu> =
        Flatten.forward(&Tensor::<(Dyn, U7), Cpu>::zeros(&dev, &[3, 7]).unwrap());
    assert_eq!(z.dims(), &[3, 7]);
}
