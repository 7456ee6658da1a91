//! Protocol dissectors. Each protocol is a module with a pure parser and a
//! per-flow state; facts come out as typed [`Observation`]s that hold no
//! reference into packet buffers and no patient data.

pub mod dicom;
pub mod obs;

pub use obs::{ObsKind, Observation, Origin, PresentationContext, Side};
