//! Class labels for the classification losses: plain slices (checked against the output's class
//! count at run time) or [`Labels<C>`], whose class count the compiler matches against the
//! model's output.

use std::marker::PhantomData;

use crate::dim::StaticDim;
use crate::error::{Error, Result};

/// Implemented by a borrow of labels usable with a model output of `C` classes (`&Labels<C>`,
/// `&[usize]`, `&Vec<usize>`, `&[usize; K]`): the `labels` argument of the classification
/// losses. A blanket impl over [`ClassLabels`], so that labels for another class count are one
/// short error at the argument (see [`crate::operand`]).
///
/// ```
/// use shapeflow_core::loss::LabelsFor;
/// fn count<C, L: LabelsFor<C>>(l: L) -> usize { l.class_labels().len() }
/// assert_eq!(count::<typenum::U10, _>(&[1usize, 2][..]), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "these labels are for a different number of classes than the model output",
    label = "`Labels<C>` needs the `C` of the logits `[batch, C]` (a plain `&[usize]` is checked at run time)"
)]
pub trait LabelsFor<C> {
    /// The labels, one per sample.
    fn class_labels(&self) -> &[usize];
}

#[diagnostic::do_not_recommend]
impl<C, L: ?Sized + ClassLabels<C>> LabelsFor<C> for &L {
    fn class_labels(&self) -> &[usize] {
        L::labels(self)
    }
}

/// Class labels usable with a model output of `C` classes: implement it for a label container
/// of your own; the losses take a borrow of it (through [`LabelsFor`]).
///
/// ```
/// use shapeflow_core::loss::ClassLabels;
/// fn count<C, L: ClassLabels<C> + ?Sized>(l: &L) -> usize { l.labels().len() }
/// assert_eq!(count::<typenum::U10, _>(&[1usize, 2][..]), 2);
/// ```
pub trait ClassLabels<C> {
    /// The labels, one per sample.
    fn labels(&self) -> &[usize];
}

impl<C> ClassLabels<C> for [usize] {
    fn labels(&self) -> &[usize] {
        self
    }
}

impl<C> ClassLabels<C> for Vec<usize> {
    fn labels(&self) -> &[usize] {
        self
    }
}

impl<C, const K: usize> ClassLabels<C> for [usize; K] {
    fn labels(&self) -> &[usize] {
        self
    }
}

/// Labels checked, when built, to lie in `0..C`; a loss over an output with a different class
/// count does not compile.
///
/// ```
/// use shapeflow_core::loss::Labels;
/// use typenum::U5;
/// assert!(Labels::<U5>::new(vec![0, 4, 2]).is_ok());
/// assert!(Labels::<U5>::new(vec![5]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels<C: StaticDim> {
    values: Vec<usize>,
    _classes: PhantomData<C>,
}

impl<C: StaticDim> Labels<C> {
    /// Labels for `C` classes; an `Err` naming the first label outside `0..C`.
    pub fn new(values: Vec<usize>) -> Result<Self> {
        if let Some((index, &label)) = values.iter().enumerate().find(|&(_, &l)| l >= C::N) {
            return Err(Error::Label { index, label, classes: C::N });
        }
        Ok(Labels { values, _classes: PhantomData })
    }
}

impl<C: StaticDim> ClassLabels<C> for Labels<C> {
    fn labels(&self) -> &[usize] {
        &self.values
    }
}
