//! Rendering [`Chart`]s into a PNG: one panel per chart on a grid, with axes, tick
//! labels, axis titles, a caption and a legend, text in the embedded font; encoded by
//! `ebm_data::image_grid::encode_png` and written atomically through
//! `ebm_core::atomic::write_atomic`.

use crate::chart::{Chart, Corner, Series, Shading, Style};
use crate::clip::{self, Ranges};
use crate::{PlotError, font};
use ebm_data::image_grid::{PixelFormat, encode_png};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

/// The series colors, in order: blue, orange, green, red, purple, brown, grey.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(110, 110, 110),
];

/// The darkest shade of a [`Shading`] (value 1); 0 is white.
const SHADE: RGBColor = RGBColor(90, 110, 150);

/// The largest image side drawn, in pixels (a larger layout is refused).
pub const MAX_SIDE: u32 = 8192;

/// How charts are laid out: `columns` panels per row, each `panel_width x panel_height`
/// pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Panels per row.
    pub columns: usize,
    /// Width of a panel, in pixels.
    pub panel_width: u32,
    /// Height of a panel, in pixels.
    pub panel_height: u32,
}

impl Layout {
    /// One chart of 800 x 500 pixels.
    pub const SINGLE: Self = Self {
        columns: 1,
        panel_width: 800,
        panel_height: 500,
    };

    /// The image size for `panels` panels: `(width, height)` in pixels.
    ///
    /// # Errors
    ///
    /// [`PlotError::Layout`] for no panels, zero columns or sides, or an image larger
    /// than [`MAX_SIDE`] on a side.
    pub fn image_size(&self, panels: usize) -> Result<(u32, u32), PlotError> {
        if panels == 0 || self.columns == 0 || self.panel_width == 0 || self.panel_height == 0 {
            return Err(PlotError::Layout(
                "no panels, no columns or an empty panel".to_string(),
            ));
        }
        let columns = self.columns.min(panels);
        let rows = panels.div_ceil(columns);
        let width = columns as u64 * u64::from(self.panel_width);
        let height = rows as u64 * u64::from(self.panel_height);
        if width > u64::from(MAX_SIDE) || height > u64::from(MAX_SIDE) {
            return Err(PlotError::Layout(format!(
                "{width} x {height} pixels is larger than {MAX_SIDE} on a side"
            )));
        }
        Ok((width as u32, height as u32))
    }
}

/// Render `charts` on a grid laid out as `layout` says, as 8-bit RGB pixels: returns
/// `(pixels, width, height)`.
///
/// # Errors
///
/// [`PlotError::Layout`] (see [`Layout::image_size`]), [`PlotError::NoData`] for a chart
/// with nothing finite to draw, [`PlotError::Font`] or [`PlotError::Draw`].
pub fn render(charts: &[Chart], layout: Layout) -> Result<(Vec<u8>, u32, u32), PlotError> {
    font::register()?;
    let (width, height) = layout.image_size(charts.len())?;
    let ranges: Vec<_> = charts
        .iter()
        .map(|c| c.ranges().ok_or_else(|| PlotError::NoData(c.title.clone())))
        .collect::<Result<_, _>>()?;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let columns = layout.columns.min(charts.len());
        let panels = root.split_evenly((charts.len().div_ceil(columns), columns));
        for ((chart, ranges), area) in charts.iter().zip(ranges).zip(&panels) {
            draw_chart(area, chart, ranges)?;
        }
        root.present().map_err(draw_error)?;
    }
    Ok((pixels, width, height))
}

/// Render `charts` (see [`render`]) and write them to `path` as a PNG, atomically: a
/// failed write leaves an old file alone.
///
/// # Errors
///
/// Those of [`render`], [`PlotError::Encode`] and [`PlotError::Io`] naming `path`.
///
/// ```
/// use ebm_plot::{Chart, Layout, Series, Style, write_png};
/// let dir = tempfile::tempdir().unwrap();
/// let chart = Chart::new("squares", "n", "n squared")
///     .with(Series::new("n^2", (0..10).map(|n| (n as f64, (n * n) as f64)).collect(), Style::Line));
/// write_png(&dir.path().join("squares.png"), &[chart], Layout::SINGLE).unwrap();
/// ```
pub fn write_png(path: &Path, charts: &[Chart], layout: Layout) -> Result<(), PlotError> {
    let (pixels, width, height) = render(charts, layout)?;
    let bytes = encode_png(&pixels, width as usize, height as usize, PixelFormat::Rgb)
        .map_err(PlotError::Encode)?;
    ebm_core::atomic::write_atomic(path, &bytes).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn draw_error(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

type Context<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draw one chart into its panel.
fn draw_chart(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    chart: &Chart,
    ((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)),
) -> Result<(), PlotError> {
    let (corner, crowded) = chart.legend_corner();
    // Room above the data for the legend (60% of the span) when every corner is taken.
    let y1 = if crowded { y1 + 0.6 * (y1 - y0) } else { y1 };
    let (_, panel_height) = area.dim_in_pixel();
    let caption = (font::FAMILY, (panel_height / 22).clamp(15, 24));
    let mut context = ChartBuilder::on(area)
        .caption(&chart.title, caption)
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_error)?;
    let (x_step, y_step) = ((x1 - x0) / 8.0, (y1 - y0) / 8.0);
    let counts = chart.x_counts;
    let x_ticks = move |v: &f64| match counts {
        true if v.fract().abs() > 1e-9 => String::new(),
        _ => tick_label(*v, x_step),
    };
    let y_ticks = move |v: &f64| tick_label(*v, y_step);
    context
        .configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&y_ticks)
        .label_style((font::FAMILY, 13))
        .axis_desc_style((font::FAMILY, 15))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(245, 245, 245))
        .draw()
        .map_err(draw_error)?;
    if let Some(shading) = &chart.shading {
        draw_shading(&mut context, shading)?;
    }
    let mut legend = false;
    for (index, series) in chart.series.iter().enumerate() {
        legend |= !series.name.is_empty();
        draw_series(&mut context, series, index, ((x0, x1), (y0, y1)))?;
    }
    if legend {
        context
            .configure_series_labels()
            .position(match corner {
                Corner::UpperRight => SeriesLabelPosition::UpperRight,
                Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                Corner::LowerRight => SeriesLabelPosition::LowerRight,
                Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
            })
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font((font::FAMILY, 14))
            .draw()
            .map_err(draw_error)?;
    }
    Ok(())
}

fn draw_shading(context: &mut Context<'_, '_>, shading: &Shading) -> Result<(), PlotError> {
    let columns = shading.columns.max(1);
    let rows = shading.values.len() / columns;
    if rows == 0 {
        return Ok(());
    }
    let (cell_w, cell_h) = (
        (shading.x.1 - shading.x.0) / columns as f64,
        (shading.y.1 - shading.y.0) / rows as f64,
    );
    let cells = shading.values.iter().enumerate().map(|(i, &v)| {
        let (r, c) = (i / columns, i % columns);
        let left = shading.x.0 + c as f64 * cell_w;
        let top = shading.y.1 - r as f64 * cell_h;
        let shade = |white: u8, dark: u8| {
            let v = if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            };
            (f32::from(white) + v * (f32::from(dark) - f32::from(white))).round() as u8
        };
        let color = RGBColor(
            shade(255, SHADE.0),
            shade(255, SHADE.1),
            shade(255, SHADE.2),
        );
        Rectangle::new([(left, top), (left + cell_w, top - cell_h)], color.filled())
    });
    context.draw_series(cells).map_err(draw_error)?;
    Ok(())
}

/// Series with more points than this are drawn thinner, with smaller markers.
const MANY_POINTS: usize = 100;

fn draw_series<'a>(
    context: &mut Context<'a, 'a>,
    series: &Series,
    index: usize,
    ranges: Ranges,
) -> Result<(), PlotError> {
    let color = PALETTE[series.color.unwrap_or(index) % PALETTE.len()];
    let points: Vec<(f64, f64)> = series.finite_points().collect();
    let (width, radius) = if points.len() > MANY_POINTS {
        (1, 2)
    } else {
        (2, 3)
    };
    let (line, marker) = (color.stroke_width(width), color.filled());
    let name = series.name.as_str();
    let pieces = clip::polyline(ranges, &points);
    let inside = points.iter().copied().filter(|&p| clip::inside(ranges, p));
    let dashed = series.style == Style::Dashed;
    if matches!(
        series.style,
        Style::Line | Style::LineAndPoints | Style::Dashed
    ) {
        for (i, piece) in pieces.into_iter().enumerate() {
            let drawn = if dashed {
                context.draw_series(DashedLineSeries::new(piece, 8, 5, line))
            } else {
                context.draw_series(LineSeries::new(piece, line))
            }
            .map_err(draw_error)?;
            if i > 0 || name.is_empty() || series.style == Style::LineAndPoints {
                continue;
            }
            if dashed {
                drawn.label(name).legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], line)
                        + PathElement::new(vec![(13, 0), (21, 0)], line)
                });
            } else {
                drawn
                    .label(name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], line));
            }
        }
    }
    if matches!(series.style, Style::Points | Style::LineAndPoints) {
        let drawn = context
            .draw_series(inside.map(|p| Circle::new(p, radius, marker)))
            .map_err(draw_error)?;
        if name.is_empty() {
            return Ok(());
        }
        if series.style == Style::Points {
            drawn
                .label(name)
                .legend(move |(x, y)| Circle::new((x + 11, y), 3, marker));
        } else {
            drawn.label(name).legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (22, 0)], line)
                    + Circle::new((11, 0), 3, marker)
            });
        }
    }
    Ok(())
}

/// A tick label for `value` on an axis whose ticks are about `step` apart: enough
/// decimals to tell ticks apart, scientific notation for very large or small values.
pub fn tick_label(value: f64, step: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs();
    if !(1e-4..1e6).contains(&magnitude) {
        return format!("{value:.1e}");
    }
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        2
    };
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::learning_curve;

    /// Pixels darker than light grey in rows `rows` of an RGB image `width` wide.
    fn dark_pixels(pixels: &[u8], width: u32, rows: std::ops::Range<usize>) -> usize {
        let row_len = width as usize * 3;
        pixels[rows.start * row_len..rows.end * row_len]
            .chunks_exact(3)
            .filter(|p| p.iter().all(|&c| c < 120))
            .count()
    }

    fn curve(title: &str) -> Chart {
        learning_curve(
            title,
            "squared error per image",
            vec![("train".into(), vec![(1.0, 3.0), (2.0, 2.0), (3.0, 1.5)])],
        )
    }

    #[test]
    fn the_title_is_drawn_in_the_embedded_font() {
        let layout = Layout::SINGLE;
        let (with_title, w, h) = render(&[curve("A TITLE IN CAPITALS")], layout).unwrap();
        let (without, _, _) = render(&[curve("")], layout).unwrap();
        assert_eq!((w, h), (800, 500));
        // The caption is the top band of the panel: text there, none without a title.
        let band = 0..30;
        assert!(dark_pixels(&with_title, w, band.clone()) > 100);
        assert_eq!(dark_pixels(&without, w, band), 0);
        let png = encode_png(&with_title, w as usize, h as usize, PixelFormat::Rgb).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn panels_tile_the_image_and_bad_layouts_are_refused() {
        let grid = Layout {
            columns: 2,
            panel_width: 300,
            panel_height: 200,
        };
        assert_eq!(grid.image_size(3).unwrap(), (600, 400));
        assert_eq!(grid.image_size(1).unwrap(), (300, 200));
        let (_, w, h) = render(&[curve("a"), curve("b"), curve("c")], grid).unwrap();
        assert_eq!((w, h), (600, 400));
        assert!(matches!(grid.image_size(0), Err(PlotError::Layout(_))));
        let huge = Layout {
            columns: 1,
            panel_width: MAX_SIDE + 1,
            panel_height: 10,
        };
        assert!(matches!(huge.image_size(1), Err(PlotError::Layout(_))));
        let empty = Chart::new("nothing", "x", "y");
        assert!(matches!(
            render(&[empty], Layout::SINGLE),
            Err(PlotError::NoData(title)) if title == "nothing"
        ));
    }

    #[test]
    fn a_png_is_written_and_a_bad_path_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("curve.png");
        write_png(&path, &[curve("c")], Layout::SINGLE).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // The IHDR chunk: width and height, big-endian, at bytes 16..24.
        assert_eq!(&bytes[16..24], &[0, 0, 3, 32, 0, 0, 1, 244]);
        let bad = dir.path().join("missing").join("curve.png");
        let e = write_png(&bad, &[curve("c")], Layout::SINGLE).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn tick_labels_have_the_decimals_their_spacing_needs() {
        assert_eq!(tick_label(0.0, 0.1), "0");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(12.0, 2.0), "12");
        assert_eq!(tick_label(1.5, 0.4), "1.5");
        assert_eq!(tick_label(2.0, 0.4), "2");
        assert_eq!(tick_label(1234567.0, 1e5), "1.2e6");
    }
}
