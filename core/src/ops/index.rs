//! Indexing along an axis: `index_select`, `gather`, `scatter_add`. Indices are whole numbers
//! held in tensors of the element type (what `argmax` gives) or host slices; each is checked
//! against the axis's size, and a bad one is an `Err` that names it and its position.

use super::rules::Axis;
use crate::backend::{Backend, Elem};
use crate::dim::Dyn;
use crate::error::{Error, Result};
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;

/// Whole, non-negative indices from a tensor's values.
fn indices<T: Shape, B: Backend>(index: &Tensor<T, B>, what: &str) -> Result<Vec<usize>> {
    index
        .to_vec()
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let f = v.as_f64();
            if f.is_finite() && f >= 0.0 && f.fract() == 0.0 {
                Ok(f as usize)
            } else {
                Err(Error::Shape(format!(
                    "{what}: index {f} at position {i} is not a whole number ≥ 0"
                )))
            }
        })
        .collect()
}

impl<S: Shape, B: Backend> Tensor<S, B> {
    /// The entries `idx` of axis `AX`, in that order (repeats allowed).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let x = Tensor::<(Dyn, Const<2>), Cpu>::from_vec(&Cpu::default(), &[3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    /// assert_eq!(x.index_select::<0>(&[2, 0]).unwrap().to_vec(), vec![5.0, 6.0, 1.0, 2.0]);
    /// assert!(x.index_select::<0>(&[3]).is_err());
    /// ```
    pub fn index_select<const AX: usize>(
        &self,
        idx: &[usize],
    ) -> Result<Tensor<<S as Axis<AX>>::Replaced<Dyn>, B>>
    where
        S: Axis<AX>,
    {
        let d = self.dims();
        let (outer, inner): (usize, usize) =
            (d[..AX].iter().product(), d[AX + 1..].iter().product());
        let k = idx.len();
        let mut full = Vec::with_capacity(outer * k * inner);
        for _ in 0..outer {
            for &j in idx {
                full.extend(std::iter::repeat_n(j, inner));
            }
        }
        Ok(Tensor::from_var(self.as_var().gather(AX, full, k)?))
    }

    /// `out[…, j, …] = self[…, index[…, j, …], …]` along `AX`; `index` has the output's sizes,
    /// which equal `self`'s on every other axis (PyTorch's `gather`).
    ///
    /// ```
    /// use shapeflow_core::{Const, Dyn, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(Dyn, Const<3>), Cpu>::from_vec(&dev, &[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    /// let idx = Tensor::<(Dyn, Const<1>), Cpu>::from_vec(&dev, &[2, 1], vec![2.0, 0.0]).unwrap();
    /// assert_eq!(x.gather::<1, _>(&idx).unwrap().to_vec(), vec![3.0, 4.0]);
    /// ```
    pub fn gather<const AX: usize, T: Shape>(&self, index: &Tensor<T, B>) -> Result<Tensor<T, B>>
    where
        S: Axis<AX>,
    {
        same_but_axis(self.dims(), index.dims(), AX, "gather")?;
        let idx = indices(index, "gather")?;
        Ok(Tensor::from_var(self.as_var().gather(AX, idx, index.dims()[AX])?))
    }

    /// `self` with each `src[…, j, …]` added at `self[…, index[…, j, …], …]` along `AX`
    /// (PyTorch's `scatter_add`; repeated indices sum).
    ///
    /// ```
    /// use shapeflow_core::{Const, Tensor};
    /// use shapeflow_cpu::Cpu;
    /// let dev = Cpu::default();
    /// let x = Tensor::<(Const<3>,), Cpu>::zeros(&dev, &[3]).unwrap();
    /// let idx = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![2.0, 2.0]).unwrap();
    /// let src = Tensor::<(Const<2>,), Cpu>::from_vec(&dev, &[2], vec![1.0, 5.0]).unwrap();
    /// assert_eq!(x.scatter_add::<0, _>(&idx, &src).unwrap().to_vec(), vec![0.0, 0.0, 6.0]);
    /// ```
    pub fn scatter_add<const AX: usize, T: Shape>(
        &self,
        index: &Tensor<T, B>,
        src: &Tensor<T, B>,
    ) -> Result<Self>
    where
        S: Axis<AX>,
    {
        same_but_axis(self.dims(), index.dims(), AX, "scatter_add")?;
        if index.dims() != src.dims() {
            return Err(Error::Shape(format!(
                "scatter_add: the index has sizes {:?} but the source {:?}",
                index.dims(),
                src.dims()
            )));
        }
        let idx = indices(index, "scatter_add")?;
        Ok(Tensor::from_var(self.as_var().scatter_add(AX, idx, &src.as_var())?))
    }
}

fn same_but_axis(a: &[usize], b: &[usize], axis: usize, what: &str) -> Result<()> {
    let fits =
        a.len() == b.len() && a.iter().zip(b).enumerate().all(|(i, (x, y))| i == axis || x == y);
    if fits {
        Ok(())
    } else {
        Err(Error::Shape(format!(
            "{what} along axis {axis}: the tensor has sizes {:?} and the index {:?}; they must agree on every other axis",
            Dims::new(a).unwrap_or_default(),
            Dims::new(b).unwrap_or_default()
        )))
    }
}
