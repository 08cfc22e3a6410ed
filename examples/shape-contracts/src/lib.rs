//! A model crate with shape contracts: the model below, and `tests/contracts.rs`, a trybuild
//! suite proving that code using it wrongly does not compile (and that the right use does).
//! Copy this crate, put your model here, and write one file per contract in
//! `tests/contracts/` (failing cases) and `tests/contracts/pass/` (the corrected uses).
//!
//! ```
//! use shape_contracts::{Classifier, ClassifierInput};
//! use shapeflow::prelude::*;
//! let dev = Cpu::default();
//! let model = Classifier::<Cpu>::new(&dev, 0);
//! let x = ClassifierInput::<Cpu>::zeros(&dev, &[2, 1, 28, 28]).unwrap();
//! assert_eq!(model.forward(&x).dims(), &[2, 10]);
//! ```

use shapeflow::prelude::*;

model! {
    /// A small digit classifier: [1, 28, 28] images to 10 logits.
    pub struct Classifier {
        input: [1, 28, 28],
        conv: Conv2d<1, 8, 5>,
        act: Relu,
        pool: MaxPool2d<2>,
        flat: Flatten,
        fc: Linear<1152, 10>,
    }
}

model! {
    /// A head that takes the classifier's 10 logits to a yes/no score.
    pub struct Head {
        input: [10],
        fc: Linear<10, 1>,
    }
}
