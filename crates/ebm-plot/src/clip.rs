//! Clipping to the plotted ranges: a chart with fixed ranges draws only what lies in
//! them (plotters would pin points outside to the border).

/// The box `((x0, x1), (y0, y1))` a chart shows.
pub type Ranges = ((f64, f64), (f64, f64));

/// Whether `(x, y)` lies in `ranges` (borders included).
pub fn inside(((x0, x1), (y0, y1)): Ranges, (x, y): (f64, f64)) -> bool {
    (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
}

/// The part of the segment `p`-`q` inside `ranges` (Liang-Barsky), if any.
pub fn segment(
    ((x0, x1), (y0, y1)): Ranges,
    p: (f64, f64),
    q: (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (pk, qk) in [
        (-dx, p.0 - x0),
        (dx, x1 - p.0),
        (-dy, p.1 - y0),
        (dy, y1 - p.1),
    ] {
        if pk == 0.0 {
            if qk < 0.0 {
                return None;
            }
            continue;
        }
        let r = qk / pk;
        if pk < 0.0 {
            t0 = t0.max(r);
        } else {
            t1 = t1.min(r);
        }
        if t0 > t1 {
            return None;
        }
    }
    Some((
        (p.0 + t0 * dx, p.1 + t0 * dy),
        (p.0 + t1 * dx, p.1 + t1 * dy),
    ))
}

/// The polyline through `points` cut to `ranges`: the pieces that lie inside, each a
/// polyline of its own (a single point inside stays a piece of one point).
pub fn polyline(ranges: Ranges, points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    if let [only] = points {
        return if inside(ranges, *only) {
            vec![vec![*only]]
        } else {
            Vec::new()
        };
    }
    let mut pieces = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for pair in points.windows(2) {
        match segment(ranges, pair[0], pair[1]) {
            Some((a, b)) => {
                if current.last() != Some(&a) && !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
                if current.is_empty() {
                    current.push(a);
                }
                current.push(b);
            }
            None if !current.is_empty() => pieces.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Ranges = ((0.0, 1.0), (0.0, 1.0));

    #[test]
    fn segments_are_cut_at_the_border() {
        assert_eq!(
            segment(UNIT, (0.5, 0.5), (1.5, 0.5)),
            Some(((0.5, 0.5), (1.0, 0.5)))
        );
        assert_eq!(
            segment(UNIT, (-1.0, 0.5), (2.0, 0.5)),
            Some(((0.0, 0.5), (1.0, 0.5)))
        );
        assert_eq!(segment(UNIT, (2.0, 2.0), (3.0, 2.0)), None);
        assert_eq!(segment(UNIT, (-0.5, 0.4), (0.4, -0.5)), None);
    }

    #[test]
    fn a_polyline_leaving_and_coming_back_is_two_pieces() {
        let path = [(0.2, 0.5), (0.8, 0.5), (2.0, 0.5), (0.8, 0.2), (0.4, 0.2)];
        let pieces = polyline(UNIT, &path);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], [(0.2, 0.5), (0.8, 0.5), (1.0, 0.5)]);
        assert_eq!(pieces[1].last(), Some(&(0.4, 0.2)));
        assert!(pieces.iter().flatten().all(|&p| inside(UNIT, p)));
        assert_eq!(polyline(UNIT, &[(0.5, 0.5)]), [vec![(0.5, 0.5)]]);
        assert!(polyline(UNIT, &[(5.0, 0.5)]).is_empty());
    }
}
