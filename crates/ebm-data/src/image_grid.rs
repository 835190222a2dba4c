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

/// The side, in pixels, a tile is scaled up to at least (by an integer factor,
/// nearest-neighbour) when it is smaller, so that tiny images (4x4 bars and stripes, 8x8
/// digits) can be seen: 4x4 tiles are drawn 16 times larger, 8x8 ones 8 times, MNIST's
/// 28x28 twice.
pub const MIN_TILE_PIXELS: usize = 64;

/// The integer factor [`write_png_grid`] scales `height x width` tiles up by: the
/// largest that keeps the longer side at most [`MIN_TILE_PIXELS`], at least 1.
pub fn upscale(height: usize, width: usize) -> usize {
    (MIN_TILE_PIXELS / height.max(width).max(1)).max(1)
}

/// Render `tiles` (each `height * width` values, row-major) into a grid `columns` wide,
/// each tile pixel drawn as a `scale x scale` block, tiles apart by a gap of one pixel
/// (two when scaled up), and return 8-bit greyscale pixels and the image size.
pub fn render(
    tiles: &[f32],
    height: usize,
    width: usize,
    columns: usize,
    scaling: Scaling,
    scale: usize,
) -> (Vec<u8>, usize, usize) {
    let tile_len = height * width;
    assert!(
        tile_len > 0 && tiles.len() % tile_len == 0,
        "render: tiles not a multiple of the tile size"
    );
    let scale = scale.max(1);
    let gap = if scale > 1 { 2 } else { 1 };
    let count = tiles.len() / tile_len;
    let columns = columns.clamp(1, count.max(1));
    let rows = count.div_ceil(columns).max(1);
    let (tile_w, tile_h) = (width * scale + gap, height * scale + gap);
    let (img_w, img_h) = (columns * tile_w + gap, rows * tile_h + gap);
    let mut pixels = vec![64u8; img_w * img_h];
    for (t, tile) in tiles.chunks_exact(tile_len).enumerate() {
        let (gx, gy) = ((t % columns) * tile_w + gap, (t / columns) * tile_h + gap);
        let range = match scaling {
            Scaling::Unit => 1.0,
            Scaling::SymmetricPerTile => tile.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12),
        };
        for y in 0..height * scale {
            for x in 0..width * scale {
                let v = tile[(y / scale) * width + x / scale];
                let unit = match scaling {
                    Scaling::Unit => v,
                    Scaling::SymmetricPerTile => 0.5 + 0.5 * v / range,
                };
                pixels[(gy + y) * img_w + gx + x] = (unit.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    (pixels, img_w, img_h)
}

/// The pixel format of [`encode_png`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// One 8-bit grey level per pixel.
    Grey,
    /// Three 8-bit values (red, green, blue) per pixel.
    Rgb,
}

/// Encode 8-bit pixels (`width x height`, row-major, in `format`) as PNG bytes.
///
/// # Errors
///
/// The encoder's message, e.g. when the pixels do not fill the image.
pub fn encode_png(
    pixels: &[u8],
    width: usize,
    height: usize,
    format: PixelFormat,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(match format {
            PixelFormat::Grey => png::ColorType::Grayscale,
            PixelFormat::Rgb => png::ColorType::Rgb,
        });
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Render `tiles` as a grid, scaled up by [`upscale`] so tiny tiles can be seen, and
/// write it to `path` as PNG, atomically.
///
/// # Errors
///
/// [`crate::DataError`] naming `path` when the PNG cannot be encoded or written.
pub fn write_png_grid(
    path: &Path,
    tiles: &[f32],
    height: usize,
    width: usize,
    columns: usize,
    scaling: Scaling,
) -> Result<(), crate::DataError> {
    let scale = upscale(height, width);
    let (pixels, w, h) = render(tiles, height, width, columns, scaling, scale);
    let bytes = encode_png(&pixels, w, h, PixelFormat::Grey).map_err(|message| {
        crate::DataError::Malformed {
            path: path.to_path_buf(),
            message,
        }
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
        let (pixels, w, h) = render(&tiles, 2, 2, 2, Scaling::Unit, 1);
        assert_eq!((w, h), (7, 7));
        assert_eq!(pixels[w + 1], 0);
        assert_eq!(pixels[w + 2], 255);
        assert_eq!(pixels[w + 4], 128);
        let png = encode_png(&pixels, w, h, PixelFormat::Grey).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn tiny_tiles_are_scaled_up_nearest_neighbour() {
        assert_eq!(upscale(4, 4), 16);
        assert_eq!(upscale(8, 8), 8);
        assert_eq!(upscale(28, 28), 2);
        assert_eq!((upscale(160, 160), upscale(1, 784)), (1, 1));
        // Two 2x2 tiles scaled 3x: each tile 6x6, gaps of 2.
        let tiles = vec![0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let (pixels, w, h) = render(&tiles, 2, 2, 2, Scaling::Unit, 3);
        assert_eq!((w, h), (2 * (6 + 2) + 2, 6 + 2 + 2));
        let at = |x: usize, y: usize| pixels[y * w + x];
        // Tile 0's top-left pixel (0.0) fills the block x, y in 2..5; its top-right (1.0) 5..8.
        assert!((2..5).all(|x| (2..5).all(|y| at(x, y) == 0)));
        assert!((5..8).all(|x| (2..5).all(|y| at(x, y) == 255)));
        assert_eq!((at(1, 1), at(8, 3)), (64, 64));
        assert_eq!(at(10, 2), 255);
    }
}
