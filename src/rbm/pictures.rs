//! `ebm rbm sample` and `ebm rbm filters`: PNG grids.

use super::{FiltersArgs, SampleArgs, load_model};
use crate::Failure;
use ebm_data::image_grid::{Scaling, write_png_grid};
use ebm_rbm::sampling::gibbs_samples;

/// Tile shape for `n` visible units: a square when `n` is a perfect square, else a row.
fn tile_shape(n: usize) -> (usize, usize) {
    let side = (n as f64).sqrt().round() as usize;
    if side * side == n {
        (side, side)
    } else {
        (1, n)
    }
}

/// Columns of a near-square grid of `count` tiles.
fn grid_columns(count: usize) -> usize {
    (count as f64).sqrt().ceil().max(1.0) as usize
}

/// Run `ebm rbm sample`.
pub fn sample(args: SampleArgs) -> Result<(), Failure> {
    let run = args.run.check()?;
    if args.chains == 0 || args.steps == 0 {
        return Err(Failure::input("--chains and --steps must be at least 1"));
    }
    let model = load_model(&args.model)?;
    crate::memory::check_chains(
        "--chains",
        args.chains,
        model.n_visible() + model.n_hidden(),
    )?;
    let par = run.parallelism();
    let samples = run
        .install(|| gibbs_samples(&model, args.chains, args.steps, args.random.seed, par))?
        .map_err(Failure::input)?;
    let (h, w) = tile_shape(model.n_visible());
    write_png_grid(
        &args.png,
        &samples,
        h,
        w,
        grid_columns(args.chains),
        Scaling::Unit,
    )
    .map_err(Failure::input)?;
    crate::output::outln!(
        "wrote {} samples ({} Gibbs steps) to {}",
        args.chains,
        args.steps,
        args.png.display()
    );
    Ok(())
}

/// Run `ebm rbm filters`.
pub fn filters(args: FiltersArgs) -> Result<(), Failure> {
    if args.count == 0 {
        return Err(Failure::input("--count must be at least 1"));
    }
    let model = load_model(&args.model)?;
    let nv = model.n_visible();
    let count = args.count.min(model.n_hidden());
    let tiles = model.hidden_unit_weights(count);
    let (h, w) = tile_shape(nv);
    write_png_grid(
        &args.png,
        &tiles,
        h,
        w,
        grid_columns(count),
        Scaling::SymmetricPerTile,
    )
    .map_err(Failure::input)?;
    crate::output::outln!("wrote {count} filters to {}", args.png.display());
    Ok(())
}
