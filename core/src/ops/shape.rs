//! Shape ops: views, permutations, new and dropped axes, broadcasting out, slicing, joining and
//! splitting along an axis.

use super::rules::{
    Axis, CatAxis, CatSizes, InsertAxis, PermuteAxes, SameNumel, SqueezeAxis, SwapAxes,
};
use super::var::Var;
use crate::backend::Backend;
use crate::dim::{Const, Dim, Dyn};
use crate::error::{Error, Result};
use crate::operand::TensorArg;
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// The sizes of shape `T` holding `numel` elements: its static sizes, and its one `Dyn` size
/// (if any) worked out from the count.
fn sizes_for<T: Shape>(numel: usize, what: &str) -> Result<Dims> {
    let known: usize = T::STATIC.iter().flatten().product();
    let dyns = T::STATIC.iter().filter(|d| d.is_none()).count();
    let fill = match dyns {
        0 => 1,
        1 if known > 0 && numel.is_multiple_of(known) => numel / known,
        1 if known == 0 && numel == 0 => 0,
        1 => {
            return Err(Error::Shape(format!(
                "{what}: {numel} elements do not fill whole {} tensors",
                T::describe()
            )));
        }
        _ => {
            return Err(Error::Shape(format!(
                "{what}: {} has {dyns} run-time sizes; use `reshape` with the sizes",
                T::describe()
            )));
        }
    };
    let sizes: Vec<usize> = T::STATIC.iter().map(|d| d.unwrap_or(fill)).collect();
    let dims = Dims::new(&sizes)?;
    if dims.numel() != numel {
        return Err(Error::Shape(format!(
            "{what}: {numel} elements cannot be viewed as {} ({} elements)",
            T::describe(),
            dims.numel()
        )));
    }
    Ok(dims)
}

/// Implemented by `&Tensor<T, B>` when `T` agrees with `S` on every axis but `AX`: the second
/// operand of [`Tensor::cat`] (an argument trait, so a mismatch is one short error there).
///
/// ```
/// use shapeflow_core::{Const, Dyn, Tensor, ops::CatWith};
/// use shapeflow_cpu::Cpu;
/// fn joins<R: CatWith<1, (Dyn, Const<2>), Cpu>>(_: R) {}
/// joins(&Tensor::<(Dyn, Const<3>), Cpu>::zeros(&Cpu::default(), &[1, 3]).unwrap());
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot join a tensor of shape `{S}` with this one along axis {AX}",
    label = "every axis but {AX} must have the same size as in `{S}`"
)]
pub trait CatWith<const AX: usize, S: Shape, B: Backend> {
    /// The operand's shape.
    type Shape: Shape;
    /// The joined shape, the axis's dimension stated as `D`.
    type Joined<D: Dim>: Shape;
    /// The operand.
    fn operand(&self) -> Tensor<Self::Shape, B>;
}

#[diagnostic::do_not_recommend]
impl<const AX: usize, S: Shape, B: Backend, X: ?Sized + TensorArg<B>> CatWith<AX, S, B> for &X
where
    S: CatAxis<AX, X::Shape>,
{
    type Shape = X::Shape;
    type Joined<D: Dim> = <S as CatAxis<AX, X::Shape>>::Joined<D>;
    fn operand(&self) -> Tensor<X::Shape, B> {
        (**self).cast()
    }
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// The same elements under shape `T` (row-major order). When both shapes are static the
    /// element counts are compared when the program is built; one `Dyn` size of `T` is worked
    /// out from the count, as PyTorch's `-1`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<2>, Const<6>), Cpu>::zeros(&Cpu::default(), &[2, 6]).unwrap();
    /// let y = x.view::<(Const<3>, Const<4>)>().unwrap();
    /// let z = x.view::<(Dyn, Const<3>)>().unwrap();
    /// assert_eq!((y.dims(), z.dims()), (&[3usize, 4][..], &[4usize, 3][..]));
    /// ```
    pub fn view<T: Shape>(&self) -> Result<Tensor<T, B>> {
        let () = SameNumel::<S, T>::OK;
        let dims = sizes_for::<T>(self.len(), "view")?;
        Ok(Tensor::from_var(self.as_var().reshape(dims)))
    }

    /// All elements as one axis.
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Const<2>, Const<3>), Cpu>::zeros(&Cpu::default(), &[2, 3]).unwrap();
    /// assert_eq!(x.flatten().dims(), &[6]);
    /// ```
    pub fn flatten(&self) -> Tensor<(Dyn,), B> {
        Tensor::from_var(self.as_var().reshape(Dims::new(&[self.len()]).unwrap_or_default()))
    }

    /// The axes reordered: output axis `i` is input axis `P[i]`, with `P` one of
    /// [`super::rules::Axes2`] … [`super::rules::Axes6`].
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor, ops::rules::Axes3};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<2>, Const<3>), Cpu>::from_vec(&Cpu::default(), &[1, 2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    /// let y: Tensor<(Dyn, Const<3>, Const<2>), Cpu> = x.permute::<Axes3<0, 2, 1>>();
    /// assert_eq!(y.to_vec(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    /// assert_eq!(x.transpose::<1, 2>().to_vec(), y.to_vec());
    /// ```
    pub fn permute<P>(&self) -> Tensor<<S as PermuteAxes<P>>::Output, B>
    where
        S: PermuteAxes<P>,
    {
        Tensor::from_var(self.as_var().permute(<S as PermuteAxes<P>>::PERM))
    }

    /// Axes `I` and `J` swapped.
    pub fn transpose<const I: usize, const J: usize>(
        &self,
    ) -> Tensor<<S as SwapAxes<I, J>>::Output, B>
    where
        S: SwapAxes<I, J>,
    {
        Tensor::from_var(self.as_var().permute(<S as SwapAxes<I, J>>::PERM))
    }

    /// A new axis of size 1 before position `AX`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&Cpu::default(), &[2, 3]).unwrap();
    /// let y: Tensor<(Dyn, Const<1>, Const<3>), Cpu> = x.unsqueeze::<1>();
    /// let z: Tensor<(Dyn, Const<3>), Cpu> = y.squeeze::<1>().unwrap();
    /// assert_eq!(z.dims(), &[2, 3]);
    /// ```
    pub fn unsqueeze<const AX: usize>(&self) -> Tensor<<S as InsertAxis<AX>>::Inserted<Const<1>>, B>
    where
        S: InsertAxis<AX>,
    {
        let mut sizes = self.dims().to_vec();
        sizes.insert(AX, 1);
        Tensor::from_var(self.as_var().reshape(Dims::new(&sizes).unwrap_or_default()))
    }

    /// Axis `AX`, of size 1, removed (a `Dyn` axis is checked at run time).
    pub fn squeeze<const AX: usize>(&self) -> Result<Tensor<<S as SqueezeAxis<AX>>::Squeezed, B>>
    where
        S: SqueezeAxis<AX>,
    {
        let mut sizes = self.dims().to_vec();
        if sizes[AX] != 1 {
            return Err(Error::Shape(format!(
                "squeeze: axis {AX} of a tensor of sizes {:?} has size {}, not 1",
                sizes, sizes[AX]
            )));
        }
        sizes.remove(AX);
        Ok(Tensor::from_var(self.as_var().reshape(Dims::new(&sizes)?)))
    }

    /// The tensor broadcast to shape `T` with the given sizes and written out (PyTorch's
    /// `expand`, which gives a view there): sizes of 1 and missing leading axes repeat.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let b = Tensor::<(Const<2>,), Cpu>::from_vec(&Cpu::default(), &[2], vec![1.0, 2.0]).unwrap();
    /// let x = b.expand::<(Dyn, Const<2>)>(&[3, 2]).unwrap();
    /// assert_eq!(x.to_vec(), vec![1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    /// assert!(b.expand::<(Dyn, Const<2>)>(&[3, 3]).is_err());
    /// ```
    pub fn expand<T: Shape>(&self, sizes: &[usize]) -> Result<Tensor<T, B>> {
        let to = T::check(sizes)?;
        Ok(Tensor::from_var(self.as_var().expand(to)?))
    }

    /// [`Tensor::expand`] under NumPy's name.
    pub fn broadcast_to<T: Shape>(&self, sizes: &[usize]) -> Result<Tensor<T, B>> {
        self.expand(sizes)
    }

    /// `LEN` entries of axis `AX` from `start` (PyTorch's `narrow`; Python's `x[:, start:start+LEN]`).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<4>), Cpu>::from_vec(&Cpu::default(), &[1, 4], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// let y: Tensor<(Dyn, Const<2>), Cpu> = x.narrow::<1, 2>(1).unwrap();
    /// assert_eq!(y.to_vec(), vec![2.0, 3.0]);
    /// assert!(x.narrow::<1, 2>(3).is_err());
    /// ```
    pub fn narrow<const AX: usize, const LEN: usize>(
        &self,
        start: usize,
    ) -> Result<Tensor<<S as Axis<AX>>::Replaced<Const<LEN>>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().narrow(AX, start, LEN)?))
    }

    /// `len` entries of axis `AX` from `start`, a length known at run time.
    pub fn narrow_dyn<const AX: usize>(
        &self,
        start: usize,
        len: usize,
    ) -> Result<Tensor<<S as Axis<AX>>::Replaced<Dyn>, B>>
    where
        S: Axis<AX>,
    {
        Ok(Tensor::from_var(self.as_var().narrow(AX, start, len)?))
    }

    /// `self` and `other` joined along `AX`; every other axis must agree. The joined axis's
    /// dimension `D` is stated (the compiler cannot add sizes): `Const<5>` or `Dyn`, checked.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let a = Tensor::<(Dyn, Const<2>), Cpu>::ones(&dev, &[1, 2]).unwrap();
    /// let b = Tensor::<(Dyn, Const<3>), Cpu>::zeros(&dev, &[1, 3]).unwrap();
    /// let c = a.cat::<1, Const<5>, _>(&b).unwrap();
    /// assert_eq!(c.to_vec(), vec![1.0, 1.0, 0.0, 0.0, 0.0]);
    /// // `a.cat::<1, Const<4>, _>(&b)` does not build: "cat along axis 1: 2 + 3 entries make 5, not the stated 4"
    /// let d = a.cat::<1, Dyn, _>(&b).unwrap(); // a `Dyn` result is sized at run time
    /// assert_eq!(d.dims(), &[1, 5]);
    /// ```
    pub fn cat<const AX: usize, D: Dim, R: CatWith<AX, S, B>>(
        &self,
        other: R,
    ) -> Result<Tensor<R::Joined<D>, B>> {
        let () = CatSizes::<S, R::Shape, D, AX>::OK;
        let out = Var::cat(&[self.as_var(), other.operand().as_var()], AX)?;
        R::Joined::<D>::check(out.dims().as_slice())?;
        Ok(Tensor::from_var(out))
    }

    /// Tensors of one shape joined along `AX` (PyTorch's `torch.cat(list, dim)`).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(Dyn, Const<2>), Cpu>::ones(&Cpu::default(), &[1, 2]).unwrap();
    /// assert_eq!(Tensor::cat_all::<0>(&[&a, &a, &a]).unwrap().dims(), &[3, 2]);
    /// ```
    pub fn cat_all<const AX: usize>(
        parts: &[&Tensor<S, B>],
    ) -> Result<Tensor<<S as Axis<AX>>::Replaced<Dyn>, B>>
    where
        S: Axis<AX>,
    {
        let vars: Vec<Var<B>> = parts.iter().map(|p| p.as_var()).collect();
        Ok(Tensor::from_var(Var::cat(&vars, AX)?))
    }

    /// Tensors of one shape stacked along a new axis at `AX`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let a = Tensor::<(Const<2>,), Cpu>::ones(&Cpu::default(), &[2]).unwrap();
    /// let s: Tensor<(Dyn, Const<2>), Cpu> = Tensor::stack::<0>(&[&a, &a, &a]).unwrap();
    /// assert_eq!(s.dims(), &[3, 2]);
    /// ```
    pub fn stack<const AX: usize>(
        parts: &[&Tensor<S, B>],
    ) -> Result<Tensor<<S as InsertAxis<AX>>::Inserted<Dyn>, B>>
    where
        S: InsertAxis<AX>,
    {
        let vars: Vec<Var<B>> = parts
            .iter()
            .map(|p| {
                let mut sizes = p.dims().to_vec();
                sizes.insert(AX, 1);
                Ok(p.as_var().reshape(Dims::new(&sizes)?))
            })
            .collect::<Result<_>>()?;
        Ok(Tensor::from_var(Var::cat(&vars, AX)?))
    }

    /// Pieces of `size` entries along `AX` (the last may be shorter), as PyTorch's `split`.
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<5>), Cpu>::zeros(&Cpu::default(), &[1, 5]).unwrap();
    /// let parts = x.split::<1>(2).unwrap();
    /// assert_eq!(parts.iter().map(|p| p.dims()[1]).collect::<Vec<_>>(), vec![2, 2, 1]);
    /// assert_eq!(x.chunk::<1>(2).unwrap().len(), 2);
    /// ```
    pub fn split<const AX: usize>(
        &self,
        size: usize,
    ) -> Result<Vec<Tensor<<S as Axis<AX>>::Replaced<Dyn>, B>>>
    where
        S: Axis<AX>,
    {
        if size == 0 {
            return Err(Error::Shape("split: the piece size must be at least 1".into()));
        }
        let n = self.dims()[AX];
        let v = self.as_var();
        (0..n.div_ceil(size))
            .map(|i| Ok(Tensor::from_var(v.narrow(AX, i * size, size.min(n - i * size))?)))
            .collect()
    }

    /// `chunks` pieces of (nearly) equal size along `AX`, as PyTorch's `chunk`.
    pub fn chunk<const AX: usize>(
        &self,
        chunks: usize,
    ) -> Result<Vec<Tensor<<S as Axis<AX>>::Replaced<Dyn>, B>>>
    where
        S: Axis<AX>,
    {
        if chunks == 0 {
            return Err(Error::Shape("chunk: the number of chunks must be at least 1".into()));
        }
        self.split::<AX>(self.dims()[AX].div_ceil(chunks).max(1))
    }

    /// The tensor repeated `times` times along `AX` (PyTorch's `repeat` on one axis).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<2>), Cpu>::from_vec(&Cpu::default(), &[1, 2], vec![1.0, 2.0]).unwrap();
    /// assert_eq!(x.repeat::<1>(2).unwrap().to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// ```
    pub fn repeat<const AX: usize>(
        &self,
        times: usize,
    ) -> Result<Tensor<<S as Axis<AX>>::Replaced<Dyn>, B>>
    where
        S: Axis<AX>,
    {
        if times == 0 {
            return Ok(Tensor::from_var(self.as_var().narrow(AX, 0, 0)?));
        }
        let parts = vec![self.as_var(); times];
        Ok(Tensor::from_var(Var::cat(&parts, AX)?))
    }
}
