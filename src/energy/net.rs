//! Which network `ebm energy` trains and loads: the MLP (`--net mlp`, kind `mlp-energy`),
//! the convolutional energy for images (`--net conv`, kind `conv-energy`), or an MLP
//! over a ladder of noise levels (`--method ncsn`, kind `ncsn-energy`).

use crate::Failure;
use crate::args::{ImageShape, SavedModel};
use ebm_core::{ModelFile, ModelFileError};
use ebm_kernels::rng::{stream, streams};
use ebm_neural::noise_conditional::{NCSN_ENERGY_KIND, NoiseConditionalEnergy};
use ebm_neural::train::EnergyTrainConfig;
use ebm_neural::{CONV_ENERGY_KIND, ConvNet, EnergyNet, ImageDims, MLP_ENERGY_KIND, Mlp};
use std::path::Path;

/// A saved energy of either kind.
pub enum EnergyModel {
    /// An MLP energy.
    Mlp(Mlp),
    /// A convolutional energy.
    Conv(ConvNet),
    /// A noise-conditional energy `f(x) / sigma`.
    NoiseConditional(NoiseConditionalEnergy),
}

impl SavedModel for EnergyModel {
    const DEFAULT_FILE: &'static str = "energy.ebm";

    fn save_file(&self, path: &Path) -> Result<(), ModelFileError> {
        match self {
            EnergyModel::Mlp(mlp) => mlp.save(path),
            EnergyModel::Conv(conv) => conv.save(path),
            EnergyModel::NoiseConditional(ncsn) => ncsn.save(path),
        }
    }
}

impl EnergyModel {
    /// The model in `path`, of the kind its header names.
    ///
    /// # Errors
    ///
    /// Bad input naming the file when it cannot be read or holds another kind of model.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let header = ebm_core::model_file::read_header(path).map_err(Failure::input)?;
        match header.kind.as_str() {
            CONV_ENERGY_KIND => Ok(EnergyModel::Conv(
                ConvNet::load(path).map_err(Failure::input)?,
            )),
            MLP_ENERGY_KIND => Ok(EnergyModel::Mlp(Mlp::load(path).map_err(Failure::input)?)),
            NCSN_ENERGY_KIND => Ok(EnergyModel::NoiseConditional(
                NoiseConditionalEnergy::load(path).map_err(Failure::input)?,
            )),
            other => Err(Failure::input(format!(
                "{}: a '{other}' model, not an energy ({MLP_ENERGY_KIND}, {CONV_ENERGY_KIND} or {NCSN_ENERGY_KIND})",
                path.display()
            ))),
        }
    }

    /// Values of one input.
    pub fn n_inputs(&self) -> usize {
        match self {
            EnergyModel::Mlp(mlp) => mlp.n_inputs(),
            EnergyModel::Conv(conv) => EnergyNet::n_inputs(conv),
            EnergyModel::NoiseConditional(ncsn) => ncsn.energy_at(0).n_inputs(),
        }
    }

    /// The MLP energy `E(x)` that `ebm energy eval` measures: the MLP itself, or the
    /// noise-conditional model's energy at its smallest noise level.
    ///
    /// # Errors
    ///
    /// Bad input naming `path` for a convolutional energy (`eval` measures those as they
    /// are, by AIS).
    pub fn mlp_energy(&self, path: &Path) -> Result<Mlp, Failure> {
        match self {
            EnergyModel::Mlp(mlp) => Ok(mlp.clone()),
            EnergyModel::NoiseConditional(model) => Ok(model.energy_at(model.sigmas().len() - 1)),
            EnergyModel::Conv(_) => Err(Failure::input(format!(
                "{}: ebm energy eval measures MLP energies; this is a {CONV_ENERGY_KIND} model",
                path.display()
            ))),
        }
    }
}

/// A new convolutional energy for `dim`-value inputs: one-channel images of `--image-shape`
/// (or square), stages of `channels`, the head and initialization of `config`, weights
/// from the initialization stream of the run's seed.
///
/// # Errors
///
/// Bad input naming `--image-shape` or `--channels` when the inputs are not such images
/// or the stages do not fit them.
pub fn new_conv(
    config: &EnergyTrainConfig,
    channels: &[usize],
    shape: Option<ImageShape>,
    dim: usize,
) -> Result<ConvNet, Failure> {
    let shape = match shape {
        Some(shape) if shape.height * shape.width == dim => shape,
        Some(shape) => {
            return Err(Failure::input(format!(
                "--image-shape: {}x{} is {} pixels; the data has {dim} values per row",
                shape.height,
                shape.width,
                shape.height * shape.width
            )));
        }
        None => {
            let side = (dim as f64).sqrt().round() as usize;
            if side * side != dim {
                return Err(Failure::input(format!(
                    "--net conv: {dim} values per row are not a square image (give --image-shape HxW)"
                )));
            }
            ImageShape {
                height: side,
                width: side,
            }
        }
    };
    let dims = ImageDims {
        height: shape.height,
        width: shape.width,
        channels: 1,
    };
    let mut rng = stream(config.run.seed, streams::INITIALIZATION, 0);
    ConvNet::new(
        dims,
        channels,
        &config.hidden,
        config.activation,
        config.init_scale,
        &mut rng,
    )
    .map_err(|e| Failure::input(format!("--channels: {e}")))
}
