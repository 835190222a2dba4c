//! What a chart shows: a title, two labelled axes, named series of points and an
//! optional shaded background (a density over the plane); [`crate::draw`] renders it.

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line through the points.
    Line,
    /// A dashed line through the points (references: chance, an estimate, a bound).
    Dashed,
    /// A marker at each point.
    Points,
    /// A solid line with a marker at each point (few points, e.g. epochs).
    LineAndPoints,
}

/// One named series: its points `(x, y)` in data units, in drawing order. Points that
/// are not finite are skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The name shown in the legend.
    pub name: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: Style,
    /// Index into the crate's palette; `None`: the series' position in the chart.
    pub color: Option<usize>,
}

impl Series {
    /// A series called `name` through `points`, drawn as `style` in the next palette
    /// color.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Self {
        Self {
            name: name.into(),
            points,
            style,
            color: None,
        }
    }

    /// The same series in palette color `index`.
    pub fn color(self, index: usize) -> Self {
        Self {
            color: Some(index),
            ..self
        }
    }

    /// The finite points.
    pub fn finite_points(&self) -> impl Iterator<Item = (f64, f64)> + Clone + '_ {
        self.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }
}

/// A shaded background: `rows x columns` cells of values in `[0, 1]` (0 white, 1 the
/// darkest shade), row 0 at the top, covering `x` and `y` in data units.
#[derive(Clone, Debug, PartialEq)]
pub struct Shading {
    /// `(left, right)` edges.
    pub x: (f64, f64),
    /// `(bottom, top)` edges.
    pub y: (f64, f64),
    /// Cells per row.
    pub columns: usize,
    /// The values, row-major, `rows * columns` of them.
    pub values: Vec<f32>,
}

/// One chart: a title, axis labels (with units), series and an optional background.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// The title above the chart.
    pub title: String,
    /// Label of the x axis (say the unit).
    pub x_label: String,
    /// Label of the y axis (say the unit).
    pub y_label: String,
    /// The x range shown; `None`: the data's, padded.
    pub x_range: Option<(f64, f64)>,
    /// The y range shown; `None`: the data's, padded.
    pub y_range: Option<(f64, f64)>,
    /// The series, drawn in order (later ones on top).
    pub series: Vec<Series>,
    /// A shaded background under the series.
    pub shading: Option<Shading>,
    /// The x axis counts (epochs, runs): only whole-number ticks are labelled.
    pub x_counts: bool,
}

impl Chart {
    /// An empty chart titled `title` with axes labelled `x_label` and `y_label`.
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_range: None,
            y_range: None,
            series: Vec::new(),
            shading: None,
            x_counts: false,
        }
    }

    /// The chart with an x axis that counts (see [`Chart::x_counts`]).
    pub fn counting_x(self) -> Self {
        Self {
            x_counts: true,
            ..self
        }
    }

    /// The chart with `series` added on top.
    pub fn with(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// The chart showing x from `low` to `high`.
    pub fn x_range(self, low: f64, high: f64) -> Self {
        Self {
            x_range: Some((low, high)),
            ..self
        }
    }

    /// The chart showing y from `low` to `high`.
    pub fn y_range(self, low: f64, high: f64) -> Self {
        Self {
            y_range: Some((low, high)),
            ..self
        }
    }

    /// The chart over the background `shading`.
    pub fn shaded(self, shading: Shading) -> Self {
        Self {
            shading: Some(shading),
            ..self
        }
    }

    /// The ranges drawn: the given ones, else the data's (the series' finite points and
    /// the shading) padded by 5% on each side; `None` when there is nothing to draw.
    pub fn ranges(&self) -> Option<((f64, f64), (f64, f64))> {
        let mut xs = Bounds::default();
        let mut ys = Bounds::default();
        for (x, y) in self.series.iter().flat_map(Series::finite_points) {
            xs.add(x);
            ys.add(y);
        }
        if let Some(shading) = &self.shading {
            [shading.x.0, shading.x.1]
                .into_iter()
                .for_each(|x| xs.add(x));
            [shading.y.0, shading.y.1]
                .into_iter()
                .for_each(|y| ys.add(y));
        }
        let x = self.x_range.or_else(|| xs.padded())?;
        let y = self.y_range.or_else(|| ys.padded())?;
        Some((x, y))
    }
}

/// The smallest and largest of some finite numbers.
#[derive(Default)]
struct Bounds(Option<(f64, f64)>);

impl Bounds {
    fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.0 = Some(match self.0 {
                None => (v, v),
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
            });
        }
    }

    /// The range padded by 5% each side (a single value: +-5% of it, or +-0.5 at 0).
    fn padded(&self) -> Option<(f64, f64)> {
        let (lo, hi) = self.0?;
        let pad = if hi > lo {
            0.05 * (hi - lo)
        } else if lo != 0.0 {
            0.05 * lo.abs()
        } else {
            0.5
        };
        Some((lo - pad, hi + pad))
    }
}

/// Where the legend goes: the corner of the chart with the fewest points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corner {
    /// Top right.
    UpperRight,
    /// Top left.
    UpperLeft,
    /// Bottom right.
    LowerRight,
    /// Bottom left.
    LowerLeft,
}

impl Chart {
    /// Where the legend goes: the corner (40% of the width, 35% of the height) that the
    /// fewest of the series' points and lines fall in (a marker of a [`Style::Points`]
    /// series counts as 100: it must not be hidden), preferring the upper right on ties;
    /// and whether every corner holds some (then a chart whose y range is its data's
    /// gets room above them, and the legend goes there).
    pub fn legend_corner(&self) -> (Corner, bool) {
        let Some(((x0, x1), (y0, y1))) = self.ranges() else {
            return (Corner::UpperRight, false);
        };
        let mut counts = [0usize; 4];
        for series in &self.series {
            let weight = if series.style == Style::Points {
                100
            } else {
                1
            };
            let points: Vec<(f64, f64)> = series.finite_points().collect();
            // Lines count where they run, not only at their ends.
            let samples = points.windows(2).flat_map(|w| {
                (0..8).map(move |k| {
                    let t = k as f64 / 8.0;
                    (
                        w[0].0 + t * (w[1].0 - w[0].0),
                        w[0].1 + t * (w[1].1 - w[0].1),
                    )
                })
            });
            for (x, y) in points.iter().copied().chain(samples) {
                let (u, v) = ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
                let (right, left, top, bottom) = (u > 0.6, u < 0.4, v > 0.65, v < 0.35);
                for (i, inside) in [right && top, left && top, right && bottom, left && bottom]
                    .into_iter()
                    .enumerate()
                {
                    counts[i] += weight * usize::from(inside);
                }
            }
        }
        let best = (0..4).min_by_key(|&i| (counts[i], i)).unwrap_or(0);
        let corners = [
            Corner::UpperRight,
            Corner::UpperLeft,
            Corner::LowerRight,
            Corner::LowerLeft,
        ];
        if counts[best] > 0 && self.y_range.is_none() {
            return (Corner::UpperRight, true);
        }
        (corners[best], false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_pad_the_finite_data_and_keep_given_ones() {
        let chart = Chart::new("t", "x", "y").with(Series::new(
            "s",
            vec![(0.0, 1.0), (10.0, 3.0), (f64::NAN, 100.0)],
            Style::Line,
        ));
        let ((x0, x1), (y0, y1)) = chart.ranges().unwrap();
        assert_eq!((x0, x1), (-0.5, 10.5));
        assert!((y0 - 0.9).abs() < 1e-12 && (y1 - 3.1).abs() < 1e-12);
        let fixed = chart.clone().y_range(0.0, 1.0);
        assert_eq!(fixed.ranges().unwrap().1, (0.0, 1.0));
        assert!(Chart::new("empty", "x", "y").ranges().is_none());
        let flat =
            Chart::new("t", "x", "y").with(Series::new("s", vec![(2.0, 0.0)], Style::Points));
        assert_eq!(flat.ranges().unwrap(), ((1.9, 2.1), (-0.5, 0.5)));
    }

    #[test]
    fn the_legend_goes_where_the_curves_are_not() {
        let falling = Chart::new("t", "x", "y").with(Series::new(
            "s",
            (0..20)
                .map(|i| (i as f64, 100.0 / (1.0 + i as f64)))
                .collect(),
            Style::Line,
        ));
        assert_eq!(falling.legend_corner(), (Corner::UpperRight, false));
        let rising = Chart::new("t", "x", "y").with(Series::new(
            "roc",
            vec![(0.0, 0.0), (0.1, 0.8), (1.0, 1.0)],
            Style::Line,
        ));
        assert_eq!(rising.legend_corner(), (Corner::LowerRight, false));
        // Two flat lines at the top and the bottom fill every corner: room is made above.
        let crowded = Chart::new("t", "x", "y")
            .with(Series::new("a", vec![(0.0, 0.0), (1.0, 0.0)], Style::Line))
            .with(Series::new("b", vec![(0.0, 1.0), (1.0, 1.0)], Style::Line));
        assert_eq!(crowded.legend_corner(), (Corner::UpperRight, true));
        let fixed = crowded.y_range(0.0, 1.0);
        assert!(!fixed.legend_corner().1);
    }
}
