//! `Module`: the parameter visitor that names every parameter (`fc1.weight`) for optimizers,
//! save/load and summaries. `#[derive(Module)]` writes it for a user's own layer.

use crate::backend::{Backend, Device};
use crate::shape::Shape;
use crate::tensor::Tensor;

/// A value holding parameters: layers, models, and parameter tensors themselves.
///
/// Visitors receive the dotted name of each parameter (PyTorch's `state_dict` names), its sizes
/// and its buffer. `path` is a scratch string: implementations push `.field`, recurse and truncate,
/// so visiting allocates nothing once the string has grown.
///
/// ```
/// use shapeflow_core::{Module, Tensor};
/// use shapeflow_cpu::Cpu;
/// let t = Tensor::<(typenum::U3,), Cpu>::zeros(&Cpu::default(), &[3]).unwrap();
/// assert_eq!(t.num_params(), 3);
/// assert_eq!(t.param_names(), vec![String::new()]);
/// ```
pub trait Module<B: Backend> {
    /// Calls `f(name, sizes, buffer)` for every parameter.
    fn visit_params(&self, path: &mut String, f: &mut VisitFn<'_, B>);

    /// Calls `f(name, sizes, buffer)` for every parameter, mutably.
    fn visit_params_mut(&mut self, path: &mut String, f: &mut VisitMutFn<'_, B>);

    /// Walks `self` and `grads` (a value of the same type holding gradients) together, calling
    /// `f(name, parameter, gradient)`: how optimizers pair every parameter with its gradient.
    fn visit_params_with_grads(
        &mut self,
        grads: &Self,
        path: &mut String,
        f: &mut VisitGradsFn<'_, B>,
    );

    /// Calls `f(name, entry)` for every entry of the state dict, in PyTorch's order: parameters
    /// and buffers (batch-norm running statistics). The default visits the parameters.
    fn visit_state(&self, path: &mut String, f: &mut StateFn<'_, B>) {
        self.visit_params(path, &mut |n, d, s| f(n, StateRef::Tensor(d, s)));
    }

    /// Calls `f(name, entry)` for every entry of the state dict, mutably.
    fn visit_state_mut(&mut self, path: &mut String, f: &mut StateMutFn<'_, B>) {
        self.visit_params_mut(path, &mut |n, d, s| f(n, StateMut::Tensor(d, s)));
    }

    /// Calls `f(name, counter)` for every random-number counter (dropout's mask counter), so a
    /// training checkpoint can resume bit for bit. Not part of the PyTorch state dict.
    fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
        let _ = (path, f);
    }

    /// Calls `f(name, tensor)` for every parameter tensor, mutably: how autograd makes a
    /// layer's parameters leaves and reads their gradients back ([`crate::autograd::Autograd`]).
    /// `#[derive(Module)]` and `model!` generate it; the default visits nothing, which
    /// [`crate::autograd::Autograd`] reports as an `Err` for a layer that has parameters.
    fn visit_tensors_mut(&mut self, path: &mut String, f: &mut TensorsMutFn<'_, B>) {
        let _ = (path, f);
    }

    /// Total number of scalar parameters.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut String::new(), &mut |_, d, _| n += d.iter().product::<usize>());
        n
    }

    /// Every parameter's dotted name, in visiting order.
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_params(&mut String::new(), &mut |n, _, _| names.push(n.to_string()));
        names
    }
}

/// A parameter-tensor visitor: `f(name, tensor)` (see [`Module::visit_tensors_mut`]).
pub type TensorsMutFn<'a, B> = dyn FnMut(&str, &mut dyn crate::autograd::ParamTensor<B>) + 'a;

/// A parameter visitor: `f(name, sizes, buffer)`.
pub type VisitFn<'a, B> = dyn FnMut(&str, &[usize], &<B as Device>::Storage) + 'a;
/// A mutable parameter visitor: `f(name, sizes, buffer)`.
pub type VisitMutFn<'a, B> = dyn FnMut(&str, &[usize], &mut <B as Device>::Storage) + 'a;
/// A parameter-and-gradient visitor: `f(name, parameter, gradient)`.
pub type VisitGradsFn<'a, B> =
    dyn FnMut(&str, &mut <B as Device>::Storage, &<B as Device>::Storage) + 'a;

/// One entry of a state dict, read-only: a tensor (sizes and buffer) or a counter
/// (`num_batches_tracked`, an `int64` scalar in PyTorch).
pub enum StateRef<'a, B: Backend> {
    /// A parameter or buffer tensor.
    Tensor(&'a [usize], &'a B::Storage),
    /// An integer counter.
    Count(u64),
}

/// One entry of a state dict, writable.
pub enum StateMut<'a, B: Backend> {
    /// A parameter or buffer tensor.
    Tensor(&'a [usize], &'a mut B::Storage),
    /// An integer counter.
    Count(&'a mut u64),
}

/// A state-dict visitor.
pub type StateFn<'a, B> = dyn FnMut(&str, StateRef<'_, B>) + 'a;
/// A mutable state-dict visitor.
pub type StateMutFn<'a, B> = dyn FnMut(&str, StateMut<'_, B>) + 'a;

/// Runs `body` with `.name` appended to `path` (no separator at the root), then restores `path`.
///
/// ```
/// let mut p = String::from("fc1");
/// shapeflow_core::module::with_field(&mut p, "weight", |p| assert_eq!(p, "fc1.weight"));
/// assert_eq!(p, "fc1");
/// ```
pub fn with_field<R>(path: &mut String, name: &str, body: impl FnOnce(&mut String) -> R) -> R {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
    let r = body(path);
    path.truncate(len);
    r
}

impl<S: Shape, B: Backend> Module<B> for Tensor<S, B> {
    fn visit_params(&self, path: &mut String, f: &mut VisitFn<'_, B>) {
        f(path, self.dims(), self.storage());
    }
    fn visit_params_mut(&mut self, path: &mut String, f: &mut VisitMutFn<'_, B>) {
        let dims = self.shape();
        f(path, dims.as_slice(), self.storage_mut());
    }
    fn visit_params_with_grads(
        &mut self,
        grads: &Self,
        path: &mut String,
        f: &mut VisitGradsFn<'_, B>,
    ) {
        f(path, self.storage_mut(), grads.storage());
    }
    fn visit_tensors_mut(&mut self, path: &mut String, f: &mut TensorsMutFn<'_, B>) {
        f(path, self);
    }
}

/// An optional part (a layer's `bias`, a layer norm's affine parameters): visited when present,
/// so an absent one has no entry in the state dict, as in PyTorch.
///
/// ```
/// use shapeflow_core::{Module, Tensor};
/// use shapeflow_cpu::Cpu;
/// let none: Option<Tensor<(typenum::U3,), Cpu>> = None;
/// assert_eq!(none.num_params(), 0);
/// ```
impl<B: Backend, M: Module<B>> Module<B> for Option<M> {
    fn visit_params(&self, path: &mut String, f: &mut VisitFn<'_, B>) {
        if let Some(m) = self {
            m.visit_params(path, f);
        }
    }
    fn visit_params_mut(&mut self, path: &mut String, f: &mut VisitMutFn<'_, B>) {
        if let Some(m) = self {
            m.visit_params_mut(path, f);
        }
    }
    fn visit_params_with_grads(
        &mut self,
        grads: &Self,
        path: &mut String,
        f: &mut VisitGradsFn<'_, B>,
    ) {
        if let (Some(m), Some(g)) = (self, grads) {
            m.visit_params_with_grads(g, path, f);
        }
    }
    fn visit_state(&self, path: &mut String, f: &mut StateFn<'_, B>) {
        if let Some(m) = self {
            m.visit_state(path, f);
        }
    }
    fn visit_state_mut(&mut self, path: &mut String, f: &mut StateMutFn<'_, B>) {
        if let Some(m) = self {
            m.visit_state_mut(path, f);
        }
    }
    fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
        if let Some(m) = self {
            m.visit_rng(path, f);
        }
    }
    fn visit_tensors_mut(&mut self, path: &mut String, f: &mut TensorsMutFn<'_, B>) {
        if let Some(m) = self {
            m.visit_tensors_mut(path, f);
        }
    }
}

/// Implements [`Module`] with no parameters for a layer type (activations, pooling, …).
#[macro_export]
macro_rules! impl_module_without_params {
    ($($ty:ty),+ $(,)?) => {$(
        impl<B: $crate::Backend> $crate::Module<B> for $ty {
            fn visit_params(&self, _: &mut String, _: &mut $crate::module::VisitFn<'_, B>) {}
            fn visit_params_mut(
                &mut self,
                _: &mut String,
                _: &mut $crate::module::VisitMutFn<'_, B>,
            ) {
            }
            fn visit_params_with_grads(
                &mut self,
                _: &Self,
                _: &mut String,
                _: &mut $crate::module::VisitGradsFn<'_, B>,
            ) {
            }
        }
    )+};
}

/// `Init` and `Module` for a wrapper `Wrapper<L>(pub L)` that adds no level to parameter names:
/// every visit goes to the wrapped layer (`PerStep`, `Autograd`).
#[macro_export]
#[doc(hidden)]
macro_rules! impl_transparent_module {
    ($wrapper:ident) => {
        impl<B: $crate::Backend, L: $crate::Init<B>> $crate::Init<B> for $wrapper<L> {
            fn init(dev: &B, rng: &mut $crate::Rng) -> Self {
                $wrapper(L::init(dev, rng))
            }
        }

        impl<B: $crate::Backend, L: $crate::Module<B>> $crate::Module<B> for $wrapper<L> {
            fn visit_params(&self, path: &mut String, f: &mut $crate::module::VisitFn<'_, B>) {
                self.0.visit_params(path, f);
            }
            fn visit_params_mut(
                &mut self,
                path: &mut String,
                f: &mut $crate::module::VisitMutFn<'_, B>,
            ) {
                self.0.visit_params_mut(path, f);
            }
            fn visit_params_with_grads(
                &mut self,
                grads: &Self,
                path: &mut String,
                f: &mut $crate::module::VisitGradsFn<'_, B>,
            ) {
                self.0.visit_params_with_grads(&grads.0, path, f);
            }
            fn visit_state(&self, path: &mut String, f: &mut $crate::module::StateFn<'_, B>) {
                self.0.visit_state(path, f);
            }
            fn visit_state_mut(
                &mut self,
                path: &mut String,
                f: &mut $crate::module::StateMutFn<'_, B>,
            ) {
                self.0.visit_state_mut(path, f);
            }
            fn visit_rng(&mut self, path: &mut String, f: &mut dyn FnMut(&str, &mut u64)) {
                self.0.visit_rng(path, f);
            }
            fn visit_tensors_mut(
                &mut self,
                path: &mut String,
                f: &mut $crate::module::TensorsMutFn<'_, B>,
            ) {
                self.0.visit_tensors_mut(path, f);
            }
        }
    };
}

/// The three parameter visits of a layer whose parameters are the listed tensor fields, for use
/// inside `impl<…, B: Backend> Module<B> for …` (the backend parameter must be named `B`).
#[macro_export]
#[doc(hidden)]
macro_rules! visit_param_fields {
    ($($field:ident),+ $(,)?) => {
        fn visit_params(&self, path: &mut String, f: &mut $crate::module::VisitFn<'_, B>) {
            $( $crate::module::with_field(path, stringify!($field), |p| $crate::Module::<B>::visit_params(&self.$field, p, f)); )+
        }
        fn visit_params_mut(&mut self, path: &mut String, f: &mut $crate::module::VisitMutFn<'_, B>) {
            $( $crate::module::with_field(path, stringify!($field), |p| $crate::Module::<B>::visit_params_mut(&mut self.$field, p, f)); )+
        }
        fn visit_params_with_grads(
            &mut self,
            grads: &Self,
            path: &mut String,
            f: &mut $crate::module::VisitGradsFn<'_, B>,
        ) {
            $( $crate::module::with_field(path, stringify!($field), |p| {
                $crate::Module::<B>::visit_params_with_grads(&mut self.$field, &grads.$field, p, f)
            }); )+
        }
        fn visit_tensors_mut(&mut self, path: &mut String, f: &mut $crate::module::TensorsMutFn<'_, B>) {
            $( $crate::module::with_field(path, stringify!($field), |p| $crate::Module::<B>::visit_tensors_mut(&mut self.$field, p, f)); )+
        }
    };
}

/// Adds the gradients `g` into `into` (both of one module type): how a layer used by several
/// nodes of a graph model gets the sum of its uses' gradients.
///
/// ```
/// use shapeflow_core::{Tensor, module::add_grads};
/// use shapeflow_cpu::Cpu;
/// let dev = Cpu::default();
/// let mut a = Tensor::<(typenum::U2,), Cpu>::ones(&dev, &[2]).unwrap();
/// let b = Tensor::<(typenum::U2,), Cpu>::ones(&dev, &[2]).unwrap();
/// add_grads::<Cpu, _>(&mut a, &b);
/// assert_eq!(a.to_vec(), vec![2.0, 2.0]);
/// ```
pub fn add_grads<B: Backend, M: Module<B>>(into: &mut M, g: &M) {
    let one = <B::Elem as crate::Elem>::from_f64(1.0);
    into.visit_params_with_grads(g, &mut String::new(), &mut |_, p, d| B::axpy(one, d, p));
}

/// A read-only, object-safe view of a module's parameters: what a [`crate::layer::GradReady`]
/// callback receives (a layer's finished gradients, as a value of the layer's type).
///
/// ```
/// use shapeflow_core::{Tensor, module::Params};
/// use shapeflow_cpu::Cpu;
/// let t = Tensor::<(typenum::U2,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
/// let view: &dyn Params<Cpu> = &t;
/// let mut n = 0;
/// view.visit(&mut "g".to_string(), &mut |name, dims, _| { assert_eq!(name, "g"); n += dims[0]; });
/// assert_eq!(n, 2);
/// ```
pub trait Params<B: Backend> {
    /// Calls `f(name, sizes, buffer)` for every parameter, names prefixed by `path`.
    fn visit(&self, path: &mut String, f: &mut VisitFn<'_, B>);
}

impl<B: Backend, M: Module<B>> Params<B> for M {
    fn visit(&self, path: &mut String, f: &mut VisitFn<'_, B>) {
        self.visit_params(path, f);
    }
}
