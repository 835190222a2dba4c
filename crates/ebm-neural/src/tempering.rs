//! Parallel tempering (replica exchange) for Langevin chains: each chain has replicas on
//! a geometric ladder of temperatures `1 = T_0 < ... < T_max`; replica `r` takes Langevin
//! steps on `exp(-E / T_r)` (the drift of `E`, the noise scaled by `sqrt(T_r)`), and after
//! every step neighbouring replicas swap places with the Metropolis probability
//! `min(1, exp((E_r - E_r+1) (1/T_r - 1/T_r+1)))`. Every replica keeps its distribution,
//! and the cold one (temperature 1, the model) crosses the barriers between modes that
//! the hot ones see through: persistent chains whose mode weights come from the model,
//! not from where they started.

use crate::langevin::{LangevinBuffers, LangevinConfig, langevin};
use crate::noise_conditional::ladder_level;
use crate::{EnergyNet, LayerMath, NeuralError};
use ebm_core::InvalidSetting;
use ebm_kernels::rng::{StreamRng, uniform_f64};
use serde::{Deserialize, Serialize};

/// A temperature ladder for tempered Langevin chains.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tempering {
    /// Replicas per chain, the coldest (temperature 1, the model) first; 1 is plain
    /// Langevin.
    pub replicas: usize,
    /// Temperature of the hottest replica, as a multiple of the model's.
    pub max_temperature_ratio: f32,
}

impl Default for Tempering {
    fn default() -> Self {
        Self {
            replicas: 1,
            max_temperature_ratio: 10.0,
        }
    }
}

impl Tempering {
    /// Check the ladder; the error names `tempering`.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for no replicas or a temperature ratio below 1 (or not finite).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let ratio = self.max_temperature_ratio;
        InvalidSetting::require(
            self.replicas >= 1 && ratio.is_finite() && ratio >= 1.0,
            "tempering",
            "needs at least 1 replica and a maximum temperature ratio of at least 1",
        )
    }

    /// The temperatures, coldest (1) first, in equal ratios up to the maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// use ebm_neural::tempering::Tempering;
    /// let ladder = Tempering { replicas: 3, max_temperature_ratio: 4.0 };
    /// let t = ladder.temperatures();
    /// assert!((t[0] - 1.0).abs() < 1e-6 && (t[1] - 2.0).abs() < 1e-5 && (t[2] - 4.0).abs() < 1e-5);
    /// ```
    pub fn temperatures(&self) -> Vec<f32> {
        let (top, r) = (self.max_temperature_ratio, self.replicas);
        if r <= 1 {
            return vec![1.0; r];
        }
        (0..r)
            .map(|i| ladder_level(top, 1.0, r, r - 1 - i))
            .collect()
    }
}

/// Buffers of tempered Langevin runs, reused between runs.
#[derive(Clone, Debug, Default)]
pub struct TemperedBuffers<W> {
    /// The Langevin buffers (with the network's workspace).
    pub chains: LangevinBuffers<W>,
    energies: Vec<f32>,
    row: Vec<f32>,
}

/// Swaps proposed and accepted by [`tempered_langevin`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exchanges {
    /// Swaps proposed between neighbouring replicas.
    pub proposed: u64,
    /// Swaps accepted.
    pub accepted: u64,
}

/// Run `config.steps` tempered Langevin steps of `net` (its passes by `math`) on the
/// chains `(x, n)`: `replicas` blocks of `n` rows (`n x d` each), the coldest first, block `r` at temperature `T_r` of
/// `tempering` (its noise is `config.noise_scale * sqrt(T_r)`). After step `s` the replica
/// pairs `(r, r + 1)` with `r` of the parity of `s` exchange states, chain by chain.
///
/// # Errors
///
/// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Shape`] when `x` does
/// not hold `replicas` blocks of `n` rows of the model's input dimension.
///
/// # Examples
///
/// ```
/// use ebm_neural::tempering::{TemperedBuffers, Tempering, tempered_langevin};
/// use ebm_neural::langevin::LangevinConfig;
/// use ebm_neural::{Activation, Cpu, Mlp};
/// let mut rng = ebm_kernels::rng::stream(1, 0, 0);
/// let mlp = Mlp::new(&[2, 8, 1], Activation::Swish, 1.0, &mut rng)?;
/// let ladder = Tempering { replicas: 3, max_temperature_ratio: 4.0 };
/// let mut x = vec![0.5f32; 3 * 10 * 2];
/// let config = LangevinConfig::unadjusted(5, 0.01);
/// let mut buffers = TemperedBuffers::default();
/// let (cpu, chains) = (Cpu::sequential(), (&mut x[..], 10));
/// let swaps = tempered_langevin((&mlp, &cpu), &mut buffers, chains, (&config, &ladder), &mut rng)?;
/// assert_eq!(swaps.proposed, 5 * 10);
/// # Ok::<(), ebm_neural::NeuralError>(())
/// ```
pub fn tempered_langevin<N: EnergyNet>(
    (net, math): (&N, &impl LayerMath),
    buffers: &mut TemperedBuffers<N::Workspace>,
    (x, n): (&mut [f32], usize),
    (config, tempering): (&LangevinConfig, &Tempering),
    rng: &mut StreamRng,
) -> Result<Exchanges, NeuralError> {
    config.validate()?;
    tempering.validate()?;
    let (d, replicas) = (net.n_inputs(), tempering.replicas);
    if x.len() != replicas * n * d {
        return Err(NeuralError::Shape(format!(
            "{} values are not {replicas} replicas of {n} rows of {d}",
            x.len()
        )));
    }
    let temperatures = tempering.temperatures();
    let mut exchanges = Exchanges::default();
    for step in 0..config.steps {
        for (block, &t) in x.chunks_exact_mut(n * d).zip(&temperatures) {
            let one = LangevinConfig {
                steps: 1,
                noise_scale: config.noise_scale * t.sqrt(),
                ..*config
            };
            langevin(net, math, &mut buffers.chains, block, n, &one, rng)?;
        }
        if replicas < 2 {
            continue;
        }
        let energies = net.energy(math, &mut buffers.chains.workspace, x, replicas * n);
        buffers.energies.clear();
        buffers.energies.extend_from_slice(energies);
        let mut r = step % 2;
        while r + 1 < replicas {
            let gain = 1.0 / temperatures[r] as f64 - 1.0 / temperatures[r + 1] as f64;
            for k in 0..n {
                let (cold, hot) = (r * n + k, (r + 1) * n + k);
                let difference = (buffers.energies[cold] - buffers.energies[hot]) as f64;
                exchanges.proposed += 1;
                if difference * gain >= uniform_f64(rng).ln() {
                    exchanges.accepted += 1;
                    buffers.energies.swap(cold, hot);
                    swap_rows(x, &mut buffers.row, (cold, hot), d);
                }
            }
            r += 2;
        }
    }
    Ok(exchanges)
}

/// Swap rows `a < b` (of `d` values) of `x` through `row`.
fn swap_rows(x: &mut [f32], row: &mut Vec<f32>, (a, b): (usize, usize), d: usize) {
    row.clear();
    row.extend_from_slice(&x[a * d..(a + 1) * d]);
    x.copy_within(b * d..(b + 1) * d, a * d);
    x[b * d..(b + 1) * d].copy_from_slice(row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, Cpu, Mlp};
    use ebm_kernels::rng::stream;

    /// A softplus MLP with wells near `x_1 = +-1` (a barrier of about 9 nats at 0) and
    /// `about 4 |x_2|` across: `10 (sp(4(x-1)) + sp(-4(x+1))) - 6 (sp(4x) + sp(-4x)) +
    /// sp(4y) + sp(-4y)`.
    fn double_well() -> Mlp {
        let k = 4.0f32;
        let mut p = vec![0.0f32; 2 * 6 + 6 + 6 + 1];
        // Weights are input-major (p[i * 6 + j]), then the 6 biases.
        for (j, (i, w, b)) in [
            (0, k, -k),
            (0, -k, -k),
            (0, k, 0.0),
            (0, -k, 0.0),
            (1, k, 0.0),
            (1, -k, 0.0),
        ]
        .into_iter()
        .enumerate()
        {
            p[i * 6 + j] = w;
            p[12 + j] = b;
        }
        p[18..24].copy_from_slice(&[10.0, 10.0, -6.0, -6.0, 1.0, 1.0]);
        Mlp::from_parameters(&[2, 6, 1], Activation::Softplus, p).unwrap()
    }

    /// One replica is plain Langevin: the same chains as `langevin` with the same noise.
    #[test]
    fn one_replica_is_plain_langevin() {
        let mut rng = stream(3, 0, 0);
        let mlp = Mlp::new(&[2, 8, 1], Activation::Swish, 1.0, &mut rng).unwrap();
        let config = LangevinConfig::unadjusted(7, 0.02);
        let start: Vec<f32> = (0..20).map(|i| (i as f32 - 10.0) * 0.2).collect();
        let (mut a, mut b) = (start.clone(), start);
        let ladder = Tempering {
            replicas: 1,
            ..Tempering::default()
        };
        let cpu = Cpu::sequential();
        let mut buffers = TemperedBuffers::default();
        let (chains, settings) = ((&mut a[..], 10), (&config, &ladder));
        let mut rng = stream(5, 0, 0);
        let swaps = tempered_langevin((&mlp, &cpu), &mut buffers, chains, settings, &mut rng);
        let swaps = swaps.unwrap();
        assert_eq!(swaps, Exchanges::default());
        let mut buffers = LangevinBuffers::default();
        langevin(
            &mlp,
            &cpu,
            &mut buffers,
            &mut b,
            10,
            &config,
            &mut stream(5, 0, 0),
        )
        .unwrap();
        assert_eq!(a, b);
    }

    /// On a double well in the first coordinate (a barrier of about 9 nats),
    /// cold chains all started in the right well reach the left one only with tempering:
    /// tempered, the share on the left is near one half, plain it stays near zero.
    #[test]
    fn tempering_moves_cold_chains_between_wells() {
        let well = double_well();
        let config = LangevinConfig::unadjusted(400, 0.01);
        let left_share = |replicas: usize| {
            let ladder = Tempering {
                replicas,
                max_temperature_ratio: 16.0,
            };
            let n = 200;
            let mut x: Vec<f32> = (0..replicas * n).flat_map(|_| [1.0f32, 0.0]).collect();
            let cpu = Cpu::sequential();
            let mut buffers = TemperedBuffers::default();
            let mut rng = stream(9, 0, 0);
            let (chains, settings) = ((&mut x[..], n), (&config, &ladder));
            tempered_langevin((&well, &cpu), &mut buffers, chains, settings, &mut rng).unwrap();
            x[..2 * n].chunks_exact(2).filter(|p| p[0] < 0.0).count() as f64 / n as f64
        };
        let (plain, tempered) = (left_share(1), left_share(6));
        assert!(plain < 0.05, "plain {plain}");
        assert!((tempered - 0.5).abs() < 0.15, "tempered {tempered}");
    }

    #[test]
    fn bad_ladders_and_shapes_are_refused() {
        let bad = Tempering {
            replicas: 0,
            max_temperature_ratio: 2.0,
        };
        assert!(bad.validate().is_err());
        let cold = Tempering {
            replicas: 2,
            max_temperature_ratio: 0.5,
        };
        assert!(cold.validate().is_err());
        let mlp = Mlp::new(&[2, 4, 1], Activation::Swish, 1.0, &mut stream(1, 0, 0)).unwrap();
        let ladder = Tempering {
            replicas: 2,
            max_temperature_ratio: 2.0,
        };
        let mut x = [0.0f32; 2 * 3 * 2 - 1];
        let (cpu, one) = (Cpu::sequential(), LangevinConfig::unadjusted(1, 0.01));
        let mut buffers = TemperedBuffers::default();
        let (chains, settings) = ((&mut x[..], 3), (&one, &ladder));
        let mut rng = stream(1, 0, 0);
        let run = tempered_langevin((&mlp, &cpu), &mut buffers, chains, settings, &mut rng);
        assert!(matches!(run, Err(NeuralError::Shape(_))));
    }
}
