//! Chain CRFs on sequences sampled from a known hidden Markov model. The CRF's
//! templates mirror the HMM: `initial` (a label table on the first position), `emission`
//! (a label table per observed symbol: one-hot features) and `transition` (a label-label
//! table). The true HMM is the CRF with energies `-ln` of its probabilities, so learned
//! weights can be compared with it, modulo the directions the data cannot identify
//! ([`identifiable_part`]).

use super::{Task, TaskShape};
use crate::LearnError;
use crate::data::{Example, Structure};
use crate::energy::add_joint_features;
use crate::templates::TemplateSet;
use ebm_core::InvalidSetting;
use ebm_kernels::rng::{self, StreamRng};
use ebm_kernels::vector::categorical;
use std::sync::Arc;

/// A hidden Markov model with `states` hidden states and `symbols` observed symbols.
#[derive(Clone, Debug, PartialEq)]
pub struct Hmm {
    /// `initial[k] = p(y_1 = k)`.
    pub initial: Vec<f64>,
    /// `transition[j][k] = p(y_{t+1} = k | y_t = j)`.
    pub transition: Vec<Vec<f64>>,
    /// `emission[k][m] = p(x_t = m | y_t = k)`.
    pub emission: Vec<Vec<f64>>,
}

/// Draw an index from the distribution `p`.
fn draw(p: &[f64], random: &mut StreamRng) -> usize {
    categorical(p, rng::uniform_f64(random))
}

impl Hmm {
    /// The HMM of the example and tests: 3 sticky states and 4 symbols with overlapping
    /// emissions, so decoding needs the transitions.
    pub fn sticky() -> Self {
        Self {
            initial: vec![0.5, 0.3, 0.2],
            transition: vec![
                vec![0.8, 0.15, 0.05],
                vec![0.1, 0.8, 0.1],
                vec![0.05, 0.15, 0.8],
            ],
            emission: vec![
                vec![0.6, 0.2, 0.1, 0.1],
                vec![0.1, 0.5, 0.3, 0.1],
                vec![0.1, 0.1, 0.3, 0.5],
            ],
        }
    }

    /// Hidden states.
    pub fn states(&self) -> usize {
        self.initial.len()
    }

    /// Observed symbols.
    pub fn symbols(&self) -> usize {
        self.emission.first().map_or(0, Vec::len)
    }

    /// Check that every distribution is one (non-negative, summing to 1 within 1e-9).
    pub fn validate(&self) -> Result<(), LearnError> {
        let k = self.states();
        let m = self.symbols();
        let rows = std::iter::once(&self.initial)
            .chain(&self.transition)
            .chain(&self.emission);
        let shapes_fit = k > 0
            && m > 0
            && self.transition.len() == k
            && self.transition.iter().all(|r| r.len() == k)
            && self.emission.len() == k
            && self.emission.iter().all(|r| r.len() == m);
        if !shapes_fit
            || rows.into_iter().any(|r| {
                r.iter().any(|&p| p.is_nan() || p < 0.0)
                    || (r.iter().sum::<f64>() - 1.0).abs() > 1e-9
            })
        {
            return Err(LearnError::InvalidData(
                "an HMM needs k initial, k x k transition and k x m emission probabilities, each row summing to 1".into(),
            ));
        }
        Ok(())
    }

    /// Sample `(states, symbols)` of one sequence of `length`.
    pub fn sample(&self, length: usize, random: &mut StreamRng) -> (Vec<usize>, Vec<usize>) {
        let mut states: Vec<usize> = Vec::with_capacity(length);
        let mut symbols = Vec::with_capacity(length);
        for t in 0..length {
            let y = if t == 0 {
                draw(&self.initial, random)
            } else {
                draw(&self.transition[states[t - 1]], random)
            };
            states.push(y);
            symbols.push(draw(&self.emission[y], random));
        }
        (states, symbols)
    }
}

/// The chain CRF's templates for `states` and `symbols`: initial, emission, transition.
pub fn chain_templates(states: usize, symbols: usize) -> Result<TemplateSet, LearnError> {
    let mut templates = TemplateSet::new();
    templates.add("initial", &[states], 1)?;
    templates.add("emission", &[states], symbols)?;
    templates.add("transition", &[states, states], 1)?;
    Ok(templates)
}

/// The example of one observed sequence (labels: its hidden states).
pub fn chain_example(
    templates: &TemplateSet,
    states: &[usize],
    symbols: &[usize],
    symbol_count: usize,
) -> Result<Example, LearnError> {
    let length = states.len();
    let k = templates.get(0).label_counts[0];
    let mut structure = Structure::new(vec![k; length]);
    let mut features = Vec::new();
    if length > 0 {
        structure.add_factor(templates, 0, &[0])?;
        features.push(1.0);
    }
    for (t, &m) in symbols.iter().enumerate() {
        if m >= symbol_count {
            return Err(LearnError::InvalidData(format!(
                "symbol {m} at position {t} is outside 0..{symbol_count}"
            )));
        }
        structure.add_factor(templates, 1, &[t])?;
        features.extend((0..symbol_count).map(|s| f64::from(s == m)));
    }
    for t in 1..length {
        structure.add_factor(templates, 2, &[t - 1, t])?;
        features.push(1.0);
    }
    Example::new(Arc::new(structure), features, states.to_vec())
}

/// The HMM as chain-CRF weights: `-ln` of its probabilities (`p(x, y) = exp(-E)`).
pub fn hmm_weights(hmm: &Hmm, templates: &TemplateSet) -> Vec<f64> {
    let k = hmm.states();
    let mut weights = vec![0.0; templates.weight_count()];
    let (initial, emission, transition) = (
        templates.offset(0),
        templates.offset(1),
        templates.offset(2),
    );
    for a in 0..k {
        weights[initial + a] = -hmm.initial[a].ln();
        for (m, &p) in hmm.emission[a].iter().enumerate() {
            weights[emission + m * k + a] = -p.ln();
        }
        for (b, &p) in hmm.transition[a].iter().enumerate() {
            weights[transition + a * k + b] = -p.ln();
        }
    }
    weights
}

/// Which of a task's two sets of examples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// The training examples.
    Train,
    /// The test examples.
    Test,
}

/// The `(states, symbols)` of the `count` sequences of `length` that [`hmm_task`] samples
/// from `hmm` with `seed` for `split`, in its order: sequence `i` of the split is drawn
/// from its own random stream, so any prefix of them is the same for any `count`.
pub fn hmm_sequences(
    hmm: &Hmm,
    count: usize,
    length: usize,
    seed: u64,
    split: Split,
) -> impl Iterator<Item = (Vec<usize>, Vec<usize>)> + '_ {
    let key = match split {
        Split::Train => 0,
        Split::Test => 1,
    };
    (0..count).map(move |i| {
        let mut random = rng::stream(seed, key, i as u64);
        hmm.sample(length, &mut random)
    })
}

/// The sequences of `split` of [`hmm_task`]`(hmm, .., length, seed)` as a CoNLL-style
/// column file ([`ebm_data::conll`]): one line a position, the observed symbol then the
/// hidden state, as `x<m>` and `s<k>` with `m` and `k` zero-padded to the same width (so
/// that the names sort as the indices do: the vocabulary of a file-defined chain CRF
/// ([`super::chain`]) then lays the weights out as [`chain_templates`] does).
///
/// ```
/// use ebm_learn::tasks::hmm::{Hmm, Split, hmm_conll};
/// let text = hmm_conll(&Hmm::sticky(), 2, 3, 1, Split::Train).unwrap();
/// assert_eq!(text.lines().count(), 2 * 3 + 2);
/// assert!(text.lines().next().unwrap().starts_with('x'));
/// ```
///
/// # Errors
///
/// As [`hmm_task`]: a `length` of 0 or an invalid HMM.
pub fn hmm_conll(
    hmm: &Hmm,
    count: usize,
    length: usize,
    seed: u64,
    split: Split,
) -> Result<String, LearnError> {
    InvalidSetting::require(length >= 1, "length", "must be at least 1")?;
    hmm.validate()?;
    let name = |prefix: char, index: usize, count: usize| {
        let width = (count.max(2) - 1).to_string().len();
        format!("{prefix}{index:0width$}")
    };
    let sequences: Vec<Vec<Vec<String>>> = hmm_sequences(hmm, count, length, seed, split)
        .map(|(states, symbols)| {
            states
                .iter()
                .zip(&symbols)
                .map(|(&k, &m)| vec![name('x', m, hmm.symbols()), name('s', k, hmm.states())])
                .collect()
        })
        .collect();
    Ok(ebm_data::conll::encode(&sequences))
}

/// The task: `train` and `test` sequences of `length` (at least 1) sampled from `hmm`
/// with `seed`.
pub fn hmm_task(
    hmm: &Hmm,
    train: usize,
    test: usize,
    length: usize,
    seed: u64,
) -> Result<Task, LearnError> {
    InvalidSetting::require(length >= 1, "length", "must be at least 1")?;
    hmm.validate()?;
    let templates = chain_templates(hmm.states(), hmm.symbols())?;
    let make = |count: usize, split: Split| -> Result<Vec<Example>, LearnError> {
        hmm_sequences(hmm, count, length, seed, split)
            .map(|(states, symbols)| chain_example(&templates, &states, &symbols, hmm.symbols()))
            .collect()
    };
    let (train, test) = (make(train, Split::Train)?, make(test, Split::Test)?);
    Ok(Task {
        shape: TaskShape::Hmm {
            states: hmm.states(),
            symbols: hmm.symbols(),
        },
        templates,
        train,
        test,
    })
}

/// The part of `weights` the data can identify: its projection on the span of the
/// feature differences `Phi(x, y) - Phi(x, y')` over `examples` and random `y'`. Two
/// weight vectors with the same projection give every `p(y | x)` the same value; a
/// learner started at zero with L2 regularization stays inside this span.
pub fn identifiable_part(
    templates: &TemplateSet,
    examples: &[Example],
    weights: &[f64],
    seed: u64,
) -> Vec<f64> {
    let dim = templates.weight_count();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut random = rng::stream(seed, 0, 0);
    'examples: for example in examples {
        for _ in 0..4 {
            if basis.len() == dim {
                break 'examples;
            }
            let other: Vec<usize> = example
                .structure
                .label_counts()
                .iter()
                .map(|&k| rng::index(&mut random, k))
                .collect();
            let mut direction = vec![0.0; dim];
            add_joint_features(templates, example, &example.labels, 1.0, &mut direction);
            add_joint_features(templates, example, &other, -1.0, &mut direction);
            // Modified Gram-Schmidt (twice, for stability).
            for _ in 0..2 {
                for b in &basis {
                    let dot: f64 = b.iter().zip(&direction).map(|(x, y)| x * y).sum();
                    direction.iter_mut().zip(b).for_each(|(d, x)| *d -= dot * x);
                }
            }
            let norm = direction.iter().map(|d| d * d).sum::<f64>().sqrt();
            if norm > 1e-8 {
                direction.iter_mut().for_each(|d| *d /= norm);
                basis.push(direction);
            }
        }
    }
    let mut projection = vec![0.0; dim];
    for b in &basis {
        let dot: f64 = b.iter().zip(weights).map(|(x, y)| x * y).sum();
        projection
            .iter_mut()
            .zip(b)
            .for_each(|(p, x)| *p += dot * x);
    }
    projection
}

/// How far learned weights are from an HMM's own (`-ln` of its probabilities), compared
/// on the part of weight space the data identify ([`identifiable_part`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightError {
    /// The largest absolute difference.
    pub max_abs: f64,
    /// The L2 norm of the difference over the L2 norm of the HMM's weights.
    pub relative: f64,
}

/// The [`WeightError`] of `weights` against `hmm`, projected with `examples` and `seed`.
pub fn weight_error(
    hmm: &Hmm,
    templates: &TemplateSet,
    examples: &[Example],
    weights: &[f64],
    seed: u64,
) -> WeightError {
    let truth = identifiable_part(templates, examples, &hmm_weights(hmm, templates), seed);
    let learned = identifiable_part(templates, examples, weights, seed);
    let norm = truth.iter().map(|w| w * w).sum::<f64>().sqrt();
    let differences: Vec<f64> = learned.iter().zip(&truth).map(|(a, b)| a - b).collect();
    WeightError {
        max_abs: differences.iter().fold(0.0f64, |m, d| m.max(d.abs())),
        relative: differences.iter().map(|d| d * d).sum::<f64>().sqrt() / norm,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::{energy, instantiate};
    use ebm_factor::tree::tree_marginals;

    #[test]
    fn hmm_weights_give_the_hmm_posterior() {
        // With the HMM's weights, E(y) = -ln p(x, y), so E(y) + ln Z(x) = -ln p(y | x)
        // and ln Z(x) = ln p(x): checked by summing p(x, y) over all 3^4 labelings.
        let hmm = Hmm::sticky();
        let templates = chain_templates(3, 4).unwrap();
        let weights = hmm_weights(&hmm, &templates);
        let symbols = [0, 3, 2, 1];
        let example = chain_example(&templates, &[0, 0, 0, 0], &symbols, 4).unwrap();
        let model = instantiate(&templates, &example, &weights, false).unwrap();
        let log_z = tree_marginals(&model).unwrap().log_z;
        let mut p_x = 0.0;
        for code in 0..81usize {
            let y: Vec<usize> = (0..4).map(|t| (code / 3usize.pow(t)) % 3).collect();
            let mut p = hmm.initial[y[0]] * hmm.emission[y[0]][symbols[0]];
            for t in 1..4 {
                p *= hmm.transition[y[t - 1]][y[t]] * hmm.emission[y[t]][symbols[t]];
            }
            assert!((energy(&templates, &example, &weights, &y) + p.ln()).abs() < 1e-12);
            p_x += p;
        }
        assert!((log_z - p_x.ln()).abs() < 1e-12);
    }

    #[test]
    fn identifiable_part_keeps_every_energy_difference() {
        let hmm = Hmm::sticky();
        let task = hmm_task(&hmm, 20, 0, 6, 3).unwrap();
        let weights = hmm_weights(&hmm, &task.templates);
        let projected = identifiable_part(&task.templates, &task.train, &weights, 1);
        // The gauge is real: the projection changed the weights ...
        let moved: f64 = weights
            .iter()
            .zip(&projected)
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(moved > 0.1, "{moved}");
        // ... yet every energy difference is the same.
        let example = &task.train[0];
        let other = vec![2, 1, 0, 0, 1, 2];
        let difference = |w: &[f64]| {
            energy(&task.templates, example, w, &example.labels)
                - energy(&task.templates, example, w, &other)
        };
        assert!((difference(&weights) - difference(&projected)).abs() < 1e-9);
        assert!(
            Hmm {
                initial: vec![0.5, 0.6],
                ..hmm
            }
            .validate()
            .is_err()
        );
    }
}
