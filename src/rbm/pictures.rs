//! `ebm rbm sample` and `ebm rbm filters`: PNG grids.

use super::{FiltersArgs, SampleArgs, load_model};
use crate::Failure;
use crate::setup::check_chains;
use ebm_data::image_grid::{Scaling, write_png_grid};
use ebm_rbm::sampling::gibbs_samples;

/// Columns of a near-square grid of `count` tiles.
fn grid_columns(count: usize) -> usize {
    (count as f64).sqrt().ceil().max(1.0) as usize
}

/// Run `ebm rbm sample`.
pub fn sample(SampleArgs { sample: args, run }: SampleArgs) -> Result<(), Failure> {
    let run = run.check()?;
    if args.chains == 0 || args.steps == 0 {
        return Err(Failure::input("--chains and --steps must be at least 1"));
    }
    let model = load_model(&args.model)?;
    check_chains("--chains", args.chains, &model)?;
    let Some(shape) = args.image.resolve_or_note(&args.model, model.n_visible())? else {
        return Ok(());
    };
    let par = run.parallelism();
    let samples = run
        .install(|| gibbs_samples(&model, args.chains, args.steps, args.random.seed, par))?
        .map_err(Failure::input)?;
    shape.write_square_grid(&args.png, &samples)?;
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
    let Some(shape) = args.image.resolve_or_note(&args.model, model.n_visible())? else {
        return Ok(());
    };
    let count = args.count.min(model.n_hidden());
    let tiles = model.hidden_unit_weights(count);
    write_png_grid(
        &args.png,
        &tiles,
        shape.height,
        shape.width,
        grid_columns(count),
        Scaling::SymmetricPerTile,
    )
    .map_err(Failure::input)?;
    crate::output::outln!("wrote {count} filters to {}", args.png.display());
    Ok(())
}
