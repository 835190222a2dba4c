//! PNG plots for the ebm toolkit: learning curves (a metric per epoch, train and
//! held-out), ROC curves of anomaly scores, reliability diagrams of classifiers, AIS diagnostics (the runs' log-weights) and
//! sampler traces, each with axes, units, a title and a legend. A [`Chart`] says what to
//! show; [`write_png`] draws one or more of them (a grid of panels) with `plotters` and
//! writes the PNG atomically. Text is drawn in an embedded font (DejaVu Sans, see
//! [`font`]), so plots render the same on a machine with no system fonts. The crate
//! returns typed errors ([`PlotError`]) and never prints.
//!
//! ```
//! use ebm_plot::{Layout, learning_curve, render};
//! let chart = learning_curve(
//!     "reconstruction error",
//!     "squared error per image",
//!     vec![("train".to_string(), vec![(1.0, 10.0), (2.0, 8.0), (3.0, 7.0)]),
//!          ("held-out".to_string(), vec![(1.0, 10.5), (2.0, 8.9), (3.0, 8.2)])],
//! );
//! let (pixels, width, height) = render(&[chart], Layout::SINGLE)?;
//! assert_eq!((width, height), (800, 500));
//! assert_eq!(pixels.len(), 800 * 500 * 3);
//! # Ok::<(), ebm_plot::PlotError>(())
//! ```

pub mod chart;
mod clip;
pub mod draw;
mod error;
pub mod figures;
pub mod font;

pub use chart::{Chart, Corner, Series, Shading, Style};
pub use draw::{Layout, render, write_png};
pub use error::PlotError;
pub use figures::{
    AisRuns, ais_chart, density_charts, learning_curve, reliability_chart, roc_chart,
};
