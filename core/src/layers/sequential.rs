//! Tuples of layers as PyTorch's `nn.Sequential`: `(A, B)` applies `A` then `B`, and its
//! parameters are named `0.…`, `1.…` (a ResNet stage `layer1: (BasicBlock, BasicBlock)` in
//! `model!` gives `layer1.0.conv1.weight`, as torchvision's `state_dict` does).
//!
//! ```
//! use shapeflow_core::{Dyn, Init, Layer, Module, Rng, Tensor};
//! use shapeflow_core::layers::{Linear, Relu};
//! use shapeflow_cpu::Cpu;
//! let dev = Cpu::default();
//! let mut seq = <(Linear<typenum::U3, typenum::U2, Cpu>, Relu)>::init(&dev, &mut Rng::new(0));
//! assert_eq!(seq.param_names(), ["0.weight", "0.bias"]);
//! let x = Tensor::<(Dyn, typenum::U3), Cpu>::from_batch(&dev, 1, vec![1.0, -2.0, 0.5]).unwrap();
//! let (y, cache) = seq.forward_train(&x);
//! assert!(y.to_vec().iter().all(|&v| v >= 0.0));
//! let (dx, grads) = seq.backward(&cache, &y.ones_like()).unwrap();
//! assert_eq!((dx.dims(), grads.num_params()), (&[1, 3][..], 8));
//! ```

use crate::backend::Backend;
use crate::error::Result;
use crate::layer::{Init, Layer};
use crate::module::{Module, StateFn, StateMutFn, VisitFn, VisitGradsFn, VisitMutFn, with_field};
use crate::profile::{self, Phase};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::Tensor;

/// `Module` and `Init` for one tuple arity: each element visited under its index.
macro_rules! tuple_module {
    ($($l:ident $i:tt),+) => {
        impl<B: Backend, $($l: Module<B>),+> Module<B> for ($($l,)+) {
            fn visit_params(&self, path: &mut String, f: &mut VisitFn<'_, B>) {
                $( with_field(path, stringify!($i), |p| self.$i.visit_params(p, f)); )+
            }
            fn visit_params_mut(&mut self, path: &mut String, f: &mut VisitMutFn<'_, B>) {
                $( with_field(path, stringify!($i), |p| self.$i.visit_params_mut(p, f)); )+
            }
            fn visit_params_with_grads(
                &mut self,
                grads: &Self,
                path: &mut String,
                f: &mut VisitGradsFn<'_, B>,
            ) {
                $( with_field(path, stringify!($i), |p| self.$i.visit_params_with_grads(&grads.$i, p, f)); )+
            }
            fn visit_state(&self, path: &mut String, f: &mut StateFn<'_, B>) {
                $( with_field(path, stringify!($i), |p| self.$i.visit_state(p, f)); )+
            }
            fn visit_state_mut(&mut self, path: &mut String, f: &mut StateMutFn<'_, B>) {
                $( with_field(path, stringify!($i), |p| self.$i.visit_state_mut(p, f)); )+
            }
            fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
                $( with_field(path, stringify!($i), |p| self.$i.visit_rng(p, f)); )+
            }
        }

        impl<B: Backend, $($l: Init<B>),+> Init<B> for ($($l,)+) {
            fn init(dev: &B, rng: &mut Rng) -> Self {
                ($($l::init(dev, rng),)+)
            }
        }
    };
}

/// `Layer` for a tuple of two or more layers. Per element: its type, the shape it reads, the
/// shape it makes, its index, its gradient's variable. `mid` lists the elements between the
/// first and the last, `midrev` the same in reverse.
macro_rules! tuple_layer {
    (
        first [$l0:ident $o0:ident $g0:ident]
        mid [$($l:ident $in:ident $out:ident $i:tt $g:ident),*]
        last [$ln:ident $inn:ident $on:ident $n:tt $gn:ident]
        midrev [$($ri:tt $rg:ident),*]
    ) => {
        /// Applies the elements in order (PyTorch's `nn.Sequential`); backward runs them in
        /// reverse, the first element computing only its parameter gradients in
        /// `backward_params`.
        impl<S: Shape, B: Backend, $o0: Shape, $($out: Shape,)* $on: Shape,
            $l0: Layer<S, B, Output = $o0>, $($l: Layer<$in, B, Output = $out>,)*
            $ln: Layer<$inn, B, Output = $on>> Layer<S, B> for ($l0, $($l,)* $ln)
        {
            type Output = $on;
            type Cache = (
                <$l0 as Layer<S, B>>::Cache,
                $(<$l as Layer<$in, B>>::Cache,)*
                <$ln as Layer<$inn, B>>::Cache,
            );

            fn forward(&self, x: &Tensor<S, B>) -> Tensor<$on, B> {
                let y = at(0, Phase::Forward, || self.0.forward(x));
                $( let y = at($i, Phase::Forward, || self.$i.forward(&y)); )*
                at($n, Phase::Forward, || self.$n.forward(&y))
            }

            fn check_input(&self, x: &Tensor<S, B>) -> Result<()> {
                self.0.check_input(x)
            }

            fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<$on, B>, Self::Cache) {
                let (y, $g0) = at(0, Phase::Forward, || self.0.forward_train(x));
                $( let (y, $g) = at($i, Phase::Forward, || self.$i.forward_train(&y)); )*
                let (y, $gn) = at($n, Phase::Forward, || self.$n.forward_train(&y));
                (y, ($g0, $($g,)* $gn))
            }

            fn backward(&self, cache: &Self::Cache, dy: &Tensor<$on, B>) -> Result<(Tensor<S, B>, Self)> {
                let (d, $gn) = at($n, Phase::Backward, || self.$n.backward(&cache.$n, dy))?;
                $( let (d, $rg) = at($ri, Phase::Backward, || self.$ri.backward(&cache.$ri, &d))?; )*
                let (d, $g0) = at(0, Phase::Backward, || self.0.backward(&cache.0, &d))?;
                Ok((d, ($g0, $($g,)* $gn)))
            }

            fn backward_params(&self, cache: &Self::Cache, dy: &Tensor<$on, B>) -> Result<Self> {
                let (d, $gn) = at($n, Phase::Backward, || self.$n.backward(&cache.$n, dy))?;
                $( let (d, $rg) = at($ri, Phase::Backward, || self.$ri.backward(&cache.$ri, &d))?; )*
                let $g0 = at(0, Phase::Backward, || self.0.backward_params(&cache.0, &d))?;
                Ok(($g0, $($g,)* $gn))
            }
        }
    };
}

tuple_module!(L0 0);
tuple_module!(L0 0, L1 1);
tuple_module!(L0 0, L1 1, L2 2);
tuple_module!(L0 0, L1 1, L2 2, L3 3);
tuple_module!(L0 0, L1 1, L2 2, L3 3, L4 4);
tuple_module!(L0 0, L1 1, L2 2, L3 3, L4 4, L5 5);

/// Runs `f` inside the profiler's span of element `index` (`layer1.0`, `layer1.1`, …).
fn at<R>(index: usize, phase: Phase, f: impl FnOnce() -> R) -> R {
    const NAMES: [&str; 6] = ["0", "1", "2", "3", "4", "5"];
    let _span = profile::enter(NAMES.get(index).copied().unwrap_or("?"), "", phase);
    f()
}

/// A one-element sequence (`layer1: (BasicBlock,)`, a ResNet stage of one block).
impl<S: Shape, B: Backend, L0: Layer<S, B>> Layer<S, B> for (L0,) {
    type Output = L0::Output;
    type Cache = L0::Cache;

    fn forward(&self, x: &Tensor<S, B>) -> Tensor<L0::Output, B> {
        at(0, Phase::Forward, || self.0.forward(x))
    }
    fn check_input(&self, x: &Tensor<S, B>) -> Result<()> {
        self.0.check_input(x)
    }
    fn forward_train(&mut self, x: &Tensor<S, B>) -> (Tensor<L0::Output, B>, Self::Cache) {
        at(0, Phase::Forward, || self.0.forward_train(x))
    }
    fn backward(
        &self,
        cache: &Self::Cache,
        dy: &Tensor<L0::Output, B>,
    ) -> Result<(Tensor<S, B>, Self)> {
        at(0, Phase::Backward, || self.0.backward(cache, dy)).map(|(d, g)| (d, (g,)))
    }
    fn backward_params(&self, cache: &Self::Cache, dy: &Tensor<L0::Output, B>) -> Result<Self> {
        at(0, Phase::Backward, || self.0.backward_params(cache, dy)).map(|g| (g,))
    }
}

tuple_layer!(first [L0 S0 g0] mid [] last [L1 S0 S1 1 g1] midrev []);
tuple_layer!(first [L0 S0 g0] mid [L1 S0 S1 1 g1] last [L2 S1 S2 2 g2] midrev [1 g1]);
tuple_layer!(
    first [L0 S0 g0]
    mid [L1 S0 S1 1 g1, L2 S1 S2 2 g2]
    last [L3 S2 S3 3 g3]
    midrev [2 g2, 1 g1]
);
tuple_layer!(
    first [L0 S0 g0]
    mid [L1 S0 S1 1 g1, L2 S1 S2 2 g2, L3 S2 S3 3 g3]
    last [L4 S3 S4 4 g4]
    midrev [3 g3, 2 g2, 1 g1]
);
tuple_layer!(
    first [L0 S0 g0]
    mid [L1 S0 S1 1 g1, L2 S1 S2 2 g2, L3 S2 S3 3 g3, L4 S3 S4 4 g4]
    last [L5 S4 S5 5 g5]
    midrev [4 g4, 3 g3, 2 g2, 1 g1]
);
