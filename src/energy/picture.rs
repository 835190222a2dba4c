//! `ebm energy eval --quadrature --png`: learned 2-D densities `exp(-E)/Z` on the
//! quadrature grid, drawn side by side with the true density.

use super::EvalArgs;
use crate::Failure;
use ebm_neural::density::{density_grid, quadrature_nll, true_density_grid};
use ebm_neural::{Cpu, Mlp, Workspace};
use std::path::Path;

/// The picture's cells per side at most (finer quadrature grids are drawn at this size).
const MAX_SIDE: usize = 400;

/// The panel title of a model: its file name and test NLL.
fn title(path: &Path, nll: f64) -> String {
    let name = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    format!("{name}: test NLL {nll:.3}")
}

/// Draw `model` (with its test NLL), then each `--beside` model, then the true density
/// of `--dataset` as panels of one PNG at `--png`; returns the number of panels.
pub fn draw(
    args: &EvalArgs,
    (model, nll): (&Mlp, f64),
    test: &[f32],
    bound: f32,
) -> Result<usize, Failure> {
    let Some(png) = &args.png else {
        return Ok(0);
    };
    let side = args.grid.min(MAX_SIDE);
    let (math, mut ws) = (Cpu::sequential(), Workspace::new());
    let picture = |mlp: &Mlp, ws: &mut Workspace| {
        density_grid(mlp, &math, ws, bound, side).map_err(|e| Failure::input(format!("--png: {e}")))
    };
    let mut panels = vec![(title(&args.model, nll), picture(model, &mut ws)?)];
    for path in &args.beside {
        let other = super::net::EnergyModel::load(path)?.mlp_energy(path)?;
        let other_nll = quadrature_nll(&other, &math, &mut ws, test, bound, args.grid)
            .map_err(|e| Failure::input(format!("--beside {}: {e}", path.display())))?;
        panels.push((title(path, other_nll), picture(&other, &mut ws)?));
    }
    if let Some(density) = args.data.density() {
        let truth = format!(
            "truth ({}): test NLL {:.3}",
            density.name(),
            density.nll(test)
        );
        panels.push((truth, true_density_grid(density, bound, side)));
    }
    let count = panels.len();
    let charts = ebm_plot::density_charts(bound as f64, side, panels);
    let layout = ebm_plot::Layout {
        columns: count.min(4),
        panel_width: 440,
        panel_height: 460,
    };
    ebm_plot::write_png(png, &charts, layout).map_err(|e| Failure::run(format!("--png: {e}")))?;
    Ok(count)
}
