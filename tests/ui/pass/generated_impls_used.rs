use shapeflow::prelude::*;

// The corrected `model_with_derived_debug.rs`: `Debug` and `Module` come from `model!`.
model! {
    pub struct Mlp {
        input: [4],
        fc: Linear<4, 2>,
    }
}

fn main() {
    let m = Mlp::<Cpu>::new(&Cpu::default(), 0);
    assert!(format!("{m:?}").contains("Linear"));
    assert_eq!(m.param_names(), vec!["fc.weight", "fc.bias"]);
}
