//! The one error type of the crate.

use std::path::PathBuf;
use thiserror::Error;

/// Why a plot was not drawn or written.
#[derive(Debug, Error)]
pub enum PlotError {
    /// A chart has no finite point to draw (or a figure was given no charts).
    #[error("nothing to draw in '{0}': no finite values")]
    NoData(String),
    /// A layout or size that cannot be drawn (zero columns, an empty panel).
    #[error("bad layout: {0}")]
    Layout(String),
    /// The embedded font could not be registered with plotters.
    #[error("the embedded font could not be loaded")]
    Font,
    /// plotters failed while drawing.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
    /// The PNG could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}
