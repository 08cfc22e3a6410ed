//! The tensor op set: PyTorch's names, as methods on [`crate::Tensor`], each with its shape rule
//! checked by the compiler where the sizes are `Const` ([`rules`]) and at run time, with an
//! `Err`, where they are `Dyn`. Every op records its derivative for [`crate::autograd`] when an
//! input requires gradients.
//!
//! | family | ops |
//! |---|---|
//! | elementwise (`elementwise.rs`) | `neg abs exp log log1p sqrt rsqrt recip square powf sin cos tanh sigmoid relu gelu silu softplus clamp sign`, scalar forms, `add sub mul div maximum minimum pow` with broadcasting and `+ - * /`, `eq ne lt le gt ge`, `where_`, `masked_fill` |
//! | reductions (`reduce.rs`) | `sum mean var max min argmax argmin logsumexp norm` along `AX` (and `_keepdim`), `softmax log_softmax`, `sum_all mean_all max_all min_all`, `item` |
//! | shape (`shape.rs`) | `view reshape permute transpose unsqueeze squeeze expand broadcast_to flatten narrow cat stack split chunk repeat` |
//! | indexing (`index.rs`) | `index_select gather scatter_add` |
//! | products (`matmul.rs`) | `matmul` (batch axes broadcast), `outer` |
//! | creation (`create.rs`) | `zeros ones full arange linspace eye rand randn` and the `_like` forms |
//!
//! ```
//! use shapeflow_core::{Const, Dyn, Tensor};
//! use shapeflow_cpu::Cpu;
//! let dev = Cpu::default();
//! let x = Tensor::<(Dyn, Const<3>), Cpu>::from_vec(&dev, &[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
//! let scale = Tensor::<(Const<3>,), Cpu>::from_vec(&dev, &[3], vec![1.0, 0.5, 2.0]).unwrap();
//! let y = (&x * &scale).unwrap();             // [batch, 3] * [3] -> [batch, 3]
//! let total = y.sum::<1>();                   // [batch]
//! assert_eq!(total.to_vec(), vec![8.0, 18.5]);
//! ```

mod create;
mod elementwise;
mod grad;
mod index;
mod matmul;
pub use matmul::{BatchRhs, BatchRhs2};
pub(crate) mod raw;
mod reduce;
pub mod rules;
mod shape;
pub use shape::CatWith;
pub(crate) mod var;
