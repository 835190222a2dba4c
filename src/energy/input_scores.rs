//! A saved neural energy as a model that scores inputs ([`InputScores`]), for `ebm ood`:
//! the energy `E(x)` is its free-energy score (`-ln p(x)` up to `ln Z`), and the input
//! gradient `grad_x E(x)` gives the gradient-norm score. Noise-conditional models are
//! scored by their energy at the smallest noise level (the model of the clean data).

use super::net::EnergyModel;
use crate::Failure;
use ebm_neural::{ConvNet, Cpu, EnergyNet, Mlp};
use ebm_rbm::input_scores::{InputScores, Scored};
use std::path::Path;

/// The network whose energy scores inputs.
enum Net {
    Mlp(Mlp),
    Conv(ConvNet),
}

/// A neural energy that scores single inputs.
pub struct EnergyScores {
    net: Net,
}

impl EnergyScores {
    /// The energy of a saved model: an MLP or convolutional energy, or a noise-conditional
    /// energy at its smallest noise level.
    pub fn new(model: EnergyModel) -> Self {
        let net = match model {
            EnergyModel::Mlp(mlp) => Net::Mlp(mlp),
            EnergyModel::Conv(conv) => Net::Conv(conv),
            EnergyModel::NoiseConditional(ncsn) => {
                Net::Mlp(ncsn.energy_at(ncsn.sigmas().len() - 1))
            }
        };
        Self { net }
    }

    /// The energy saved in `path`.
    ///
    /// # Errors
    ///
    /// Bad input naming the file when it cannot be read or holds no neural energy.
    ///
    /// # Examples
    ///
    /// ```ignore
    /// let scores = EnergyScores::load(Path::new("energy.ebm"))?;
    /// let mut grad = vec![0.0; scores.n_inputs()];
    /// let energy = scores.score_input(&x, &mut grad).free_energy;
    /// ```
    pub fn load(path: &Path) -> Result<Self, Failure> {
        EnergyModel::load(path).map(Self::new)
    }
}

/// `E(x)` of one row, with `grad_x E(x)` widened into `grad`.
fn energy_and_gradient<N: EnergyNet>(net: &N, x: &[f32], grad: &mut [f64]) -> f64 {
    let mut workspace = N::Workspace::default();
    let mut grad_x = vec![0.0f32; x.len()];
    net.input_gradient(&Cpu::sequential(), &mut workspace, x, 1, &mut grad_x);
    for (g, &gx) in grad.iter_mut().zip(&grad_x) {
        *g = f64::from(gx);
    }
    f64::from(N::jets(&workspace).output(0)[0])
}

impl InputScores for EnergyScores {
    fn n_inputs(&self) -> usize {
        match &self.net {
            Net::Mlp(mlp) => mlp.n_inputs(),
            Net::Conv(conv) => EnergyNet::n_inputs(conv),
        }
    }

    /// `E(x)` and `grad_x E(x)` (the network's own pass, in f32, widened).
    fn score_input(&self, x: &[f32], grad: &mut [f64]) -> Scored {
        let free_energy = match &self.net {
            Net::Mlp(mlp) => energy_and_gradient(mlp, x, grad),
            Net::Conv(conv) => energy_and_gradient(conv, x, grad),
        };
        Scored {
            free_energy,
            max_class_probability: None,
            reconstruction_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::stream;
    use ebm_neural::{Activation, ImageDims};

    /// The score is the network's energy, and the gradient agrees with central
    /// differences of it (f32 passes: a step of 1e-2 on an O(1) energy, 2e-3 relative).
    fn check(scores: &EnergyScores, x: &[f32], energy: impl Fn(&[f32]) -> f64) {
        let n = scores.n_inputs();
        assert_eq!(n, x.len());
        let mut grad = vec![0.0; n];
        let scored = scores.score_input(x, &mut grad);
        assert!((scored.free_energy - energy(x)).abs() < 1e-6);
        assert!(scored.max_class_probability.is_none() && scored.reconstruction_error.is_none());
        for i in 0..n {
            let (mut plus, mut minus) = (x.to_vec(), x.to_vec());
            plus[i] += 1e-2;
            minus[i] -= 1e-2;
            let numeric = (energy(&plus) - energy(&minus)) / f64::from(plus[i] - minus[i]);
            assert!(
                (numeric - grad[i]).abs() < 2e-3 * (1.0 + grad[i].abs()),
                "input {i}: {numeric} vs {}",
                grad[i]
            );
        }
    }

    /// `E(x)` of one row by the network's own energy pass.
    fn energy_of<N: EnergyNet>(net: &N) -> impl Fn(&[f32]) -> f64 + '_ {
        move |v| {
            let mut ws = Default::default();
            f64::from(net.energy(&Cpu::sequential(), &mut ws, v, 1)[0])
        }
    }

    #[test]
    fn an_mlp_energy_scores_by_its_energy_and_input_gradient() {
        let mlp = Mlp::new(&[5, 7, 4, 1], Activation::Swish, 1.0, &mut stream(3, 0, 0)).unwrap();
        let x = [0.2f32, -0.9, 0.0, 1.0, 0.5];
        check(
            &EnergyScores::new(EnergyModel::Mlp(mlp.clone())),
            &x,
            energy_of(&mlp),
        );
    }

    #[test]
    fn a_conv_energy_scores_by_its_energy_and_input_gradient() {
        let dims = ImageDims {
            height: 4,
            width: 4,
            channels: 1,
        };
        let conv = ConvNet::new(
            dims,
            &[2],
            &[3],
            Activation::Softplus,
            1.0,
            &mut stream(4, 0, 0),
        )
        .unwrap();
        let x: Vec<f32> = (0..16).map(|i| ((i * 7) % 5) as f32 / 5.0).collect();
        check(
            &EnergyScores::new(EnergyModel::Conv(conv.clone())),
            &x,
            energy_of(&conv),
        );
    }
}
