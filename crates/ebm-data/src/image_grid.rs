//! PNG grids of greyscale tiles (samples, reconstructions, filters).

use std::path::Path;

/// How each tile's values map to grey levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scaling {
    /// Values in `[0, 1]` map to black..white (clamped).
    Unit,
    /// Each tile is stretched symmetrically around 0: `-max|x|` black, `+max|x|` white.
    SymmetricPerTile,
}

/// Render `tiles` (each `height * width` values, row-major) into a grid `columns` wide,
/// with a one-pixel gap, and return 8-bit greyscale pixels and the image size.
pub fn render(
    tiles: &[f32],
    height: usize,
    width: usize,
    columns: usize,
    scaling: Scaling,
) -> (Vec<u8>, usize, usize) {
    let tile_len = height * width;
    assert!(
        tile_len > 0 && tiles.len() % tile_len == 0,
        "render: tiles not a multiple of the tile size"
    );
    let count = tiles.len() / tile_len;
    let columns = columns.clamp(1, count.max(1));
    let rows = count.div_ceil(columns).max(1);
    let (img_w, img_h) = (columns * (width + 1) + 1, rows * (height + 1) + 1);
    let mut pixels = vec![64u8; img_w * img_h];
    for (t, tile) in tiles.chunks_exact(tile_len).enumerate() {
        let (gx, gy) = (
            (t % columns) * (width + 1) + 1,
            (t / columns) * (height + 1) + 1,
        );
        let scale = match scaling {
            Scaling::Unit => 1.0,
            Scaling::SymmetricPerTile => tile.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12),
        };
        for y in 0..height {
            for x in 0..width {
                let v = tile[y * width + x];
                let unit = match scaling {
                    Scaling::Unit => v,
                    Scaling::SymmetricPerTile => 0.5 + 0.5 * v / scale,
                };
                pixels[(gy + y) * img_w + gx + x] = (unit.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    (pixels, img_w, img_h)
}

/// Encode 8-bit greyscale pixels as PNG bytes.
pub fn encode_png(pixels: &[u8], width: usize, height: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Render `tiles` as a grid and write it to `path` as PNG, atomically.
pub fn write_png_grid(
    path: &Path,
    tiles: &[f32],
    height: usize,
    width: usize,
    columns: usize,
    scaling: Scaling,
) -> Result<(), crate::DataError> {
    let (pixels, w, h) = render(tiles, height, width, columns, scaling);
    let bytes = encode_png(&pixels, w, h).map_err(|message| crate::DataError::Malformed {
        path: path.to_path_buf(),
        message,
    })?;
    ebm_core::atomic::write_atomic(path, &bytes).map_err(|source| crate::DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_layout_and_png_signature() {
        let tiles = vec![0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0];
        let (pixels, w, h) = render(&tiles, 2, 2, 2, Scaling::Unit);
        assert_eq!((w, h), (7, 7));
        assert_eq!(pixels[w + 1], 0);
        assert_eq!(pixels[w + 2], 255);
        assert_eq!(pixels[w + 4], 128);
        let png = encode_png(&pixels, w, h).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
