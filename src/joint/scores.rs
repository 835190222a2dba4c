//! The joint model as `ebm ood` scores inputs ([`InputScores`]): its free energy
//! `E(x) = -logsumexp_y f(x)[y]`, the input gradient of that energy, and `max_y p(y | x)`.

use ebm_neural::joint::{JointEnergy, Target};
use ebm_neural::{Cpu, Workspace};
use ebm_rbm::input_scores::{InputScores, Scored};

/// The joint model read by `ebm ood`.
pub struct JointScores(pub JointEnergy);

impl InputScores for JointScores {
    fn n_inputs(&self) -> usize {
        self.0.n_inputs()
    }

    fn score_input(&self, x: &[f32], grad: &mut [f64]) -> Scored {
        let model = &self.0;
        let (math, mut ws) = (Cpu::sequential(), Workspace::new());
        let (mut energy, mut grad_x) = ([0.0f32], vec![0.0f32; x.len()]);
        model.energy_input_gradient(
            &math,
            &mut ws,
            x,
            Target::Marginal,
            &mut energy,
            &mut grad_x,
        );
        for (g, &v) in grad.iter_mut().zip(&grad_x) {
            *g = f64::from(v);
        }
        let mut log_p = vec![0.0f32; model.n_classes()];
        model.class_log_probabilities(&math, &mut ws, x, 1, &mut log_p);
        let max = log_p.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        Scored {
            free_energy: f64::from(energy[0]),
            max_class_probability: Some(f64::from(max).exp()),
            reconstruction_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_neural::Activation;

    /// The scores are the model's own: the free energy is `-logsumexp` of the logits, its
    /// gradient matches a central difference, and the class probability is the largest
    /// softmax value.
    #[test]
    fn scores_are_the_free_energy_its_gradient_and_the_top_probability() {
        let mut rng = ebm_kernels::rng::stream(2, 0, 0);
        let model = JointEnergy::new(&[3, 5, 4], Activation::Swish, 1.0, &mut rng).unwrap();
        let scores = JointScores(model.clone());
        let x = [0.3f32, -0.7, 1.1];
        let mut grad = [0.0f64; 3];
        let scored = scores.score_input(&x, &mut grad);
        let (math, mut ws) = (Cpu::sequential(), Workspace::new());
        let logits = model.logits(&math, &mut ws, &x, 1).to_vec();
        let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let lse = max + logits.iter().map(|&l| (l - max).exp()).sum::<f32>().ln();
        assert!((scored.free_energy + f64::from(lse)).abs() < 1e-5);
        let top = f64::from((max - lse).exp());
        assert!((scored.max_class_probability.unwrap() - top).abs() < 1e-5);
        let h = 1e-2f32;
        for i in 0..3 {
            let (mut plus, mut minus) = (x, x);
            plus[i] += h;
            minus[i] -= h;
            let mut g = [0.0f64; 3];
            let f = |p: &[f32], g: &mut [f64]| scores.score_input(p, g).free_energy;
            let numeric = (f(&plus, &mut g) - f(&minus, &mut g)) / f64::from(2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 2e-3,
                "{i}: {numeric} vs {}",
                grad[i]
            );
        }
    }
}
