//! The embedded font: DejaVu Sans (Bitstream Vera license, see `fonts/LICENSE-DejaVu.txt`),
//! registered with plotters once per process, so that plots draw their text without
//! looking for system fonts (a fresh machine may have none).

use crate::PlotError;
use plotters::style::FontStyle;
use std::sync::OnceLock;

/// The font file, `fonts/DejaVuSans.ttf` of this crate.
pub const FONT_BYTES: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// The family name every text style of the crate uses; the embedded font is registered
/// under it.
pub const FAMILY: &str = "sans-serif";

/// Register the embedded font with plotters (once per process; later calls return the
/// first call's outcome).
///
/// # Errors
///
/// [`PlotError::Font`] when the font's bytes are not a font plotters can read.
///
/// ```
/// ebm_plot::font::register().unwrap();
/// ```
pub fn register() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}
