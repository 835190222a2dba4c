//! The factor graph behind `ebm.factor.FactorGraph`: an ebm-factor [`FactorModel`] read
//! from a `.uai` file (ebm-data's reader) or built from energy tables, and its inference
//! (`ln Z`, marginals, MAP, samples) by the library's methods, with the GIL released.

use crate::errors::to_py_err;
use crate::{choose, compute, thread_count};
use ebm_data::uai;
use ebm_factor::bp::{BpConfig, Semiring, loopy_bp};
use ebm_factor::gibbs::{GibbsConfig, SampleConfig, Tempering, estimate_marginals, sample};
use ebm_factor::solve::{Method, SolveOptions, solve};
use ebm_factor::{FactorError, FactorModel, exact};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

/// Evidence as `(variable, value)` pairs.
type Evidence = Vec<(usize, usize)>;

/// The settings of one inference call, as the Python layer passes them: one dict with
/// these keys (each method reads the ones it needs; the defaults are the CLI's).
#[derive(FromPyObject)]
#[pyo3(from_item_all)]
struct Options {
    /// The method's name.
    method: String,
    /// Largest table exact elimination may build (`None`: the library's bound).
    max_table: Option<usize>,
    /// Most BP / MPLP passes.
    n_iter: usize,
    /// BP damping.
    damping: f64,
    /// Gibbs chains or annealing runs.
    n_chains: usize,
    /// Gibbs burn-in sweeps per chain.
    burn_in: usize,
    /// Gibbs sweeps per chain after the burn-in, or sweeps per annealing run.
    n_sweeps: usize,
    /// Parallel tempering of the Gibbs chains: `(replicas, hottest replica's temperature
    /// over the model's)`, or none.
    tempering: Option<(usize, f64)>,
    /// Annealing's first temperature.
    start_temperature: f64,
    /// Annealing's last temperature.
    end_temperature: f64,
    /// Seconds a MAP search may run (`None`: no limit; LNS then runs 10 s, as the CLI).
    time_limit: Option<f64>,
    /// Branch-and-bound node budget.
    node_limit: Option<u64>,
    /// LNS move budget.
    n_moves: Option<usize>,
    /// Variables freed per LNS move.
    neighbourhood: usize,
    /// Seed of every random choice.
    seed: u64,
}

impl Options {
    fn max_table(&self) -> usize {
        self.max_table.unwrap_or(exact::DEFAULT_MAX_TABLE)
    }

    fn bp(&self) -> BpConfig {
        BpConfig {
            iterations: self.n_iter,
            damping: self.damping,
            ..BpConfig::default()
        }
    }

    fn gibbs(&self) -> GibbsConfig {
        let tempering = self
            .tempering
            .map(|(replicas, max_temperature_ratio)| Tempering {
                replicas,
                max_temperature_ratio,
            });
        let (chains, burn_in, sweeps) = (self.n_chains, self.burn_in, self.n_sweeps);
        let seed = self.seed;
        GibbsConfig {
            chains,
            burn_in,
            sweeps,
            seed,
            tempering,
        }
    }

    /// The MAP budgets, as `ebm factor infer --task map` builds them from its flags.
    fn solve(&self, method: Method) -> PyResult<SolveOptions> {
        let default_limit = (method == Method::Lns && self.n_moves.is_none()).then_some(10.0);
        let time_limit = match self.time_limit.or(default_limit) {
            Some(t) if !(t.is_finite() && t > 0.0) => {
                return Err(PyValueError::new_err(
                    "invalid parameter `time_limit`: must be a positive number of seconds",
                ));
            }
            limit => limit.map(Duration::from_secs_f64),
        };
        Ok(SolveOptions {
            seed: self.seed,
            time_limit,
            node_limit: self.node_limit,
            moves: self.n_moves,
            max_table: self.max_table(),
            iterations: self.n_iter,
            damping: self.damping,
            runs: self.n_chains,
            sweeps: self.n_sweeps,
            start_temperature: self.start_temperature,
            end_temperature: self.end_temperature,
            neighbourhood: self.neighbourhood,
            ..SolveOptions::default()
        })
    }
}

/// A MAP assignment with its energy, `ln` of its unnormalized probability, the proven
/// lower bound on the minimum energy (if any) and whether a search finished (if the
/// method says).
type MapAnswer<'py> = (
    Bound<'py, PyArray1<i64>>,
    f64,
    f64,
    Option<f64>,
    Option<bool>,
);

/// A discrete factor graph (energies `-ln` of its tables), the evidence read with it and
/// the threads its inference runs on.
#[pyclass(module = "ebm._ebm")]
pub struct FactorGraphCore {
    model: FactorModel,
    threads: usize,
}

impl FactorGraphCore {
    /// The model with `evidence` added to its own (a later value for a variable wins).
    fn conditioned(&self, evidence: &Evidence) -> PyResult<Cow<'_, FactorModel>> {
        if evidence.is_empty() {
            return Ok(Cow::Borrowed(&self.model));
        }
        let mut model = self.model.clone();
        for &(v, x) in evidence {
            model.set_evidence(v, x).map_err(to_py_err)?;
        }
        Ok(Cow::Owned(model))
    }
}

#[pymethods]
impl FactorGraphCore {
    /// The model of a `.uai` file (MARKOV or BAYES; zeros are forbidden combinations),
    /// with the evidence of a `.uai.evid` file if given.
    #[staticmethod]
    #[pyo3(signature = (path, evidence=None))]
    fn read_uai(path: PathBuf, evidence: Option<PathBuf>) -> PyResult<Self> {
        let parsed = uai::read(&path).map_err(to_py_err)?;
        let mut model = FactorModel::from_uai(&parsed);
        if let Some(evid) = &evidence {
            for (v, x) in uai::read_evidence(evid, &parsed).map_err(to_py_err)? {
                model
                    .set_evidence(v, x)
                    .map_err(|e| PyValueError::new_err(format!("{}: {e}", evid.display())))?;
            }
        }
        Ok(Self { model, threads: 1 })
    }

    /// A model over variables of `cardinalities` with one energy table per scope (the
    /// tables flat, the last scope variable fastest; `+inf` forbids an entry).
    #[staticmethod]
    fn from_energies(
        cardinalities: Vec<usize>,
        scopes: Vec<Vec<usize>>,
        energies: Vec<PyReadonlyArray1<'_, f64>>,
    ) -> PyResult<Self> {
        let mut model = FactorModel::new(cardinalities);
        for (scope, table) in scopes.iter().zip(&energies) {
            let values = table
                .as_slice()
                .map_err(|_| PyValueError::new_err("factor tables must be contiguous"))?;
            model.add_energy_factor(scope, values).map_err(to_py_err)?;
        }
        Ok(Self { model, threads: 1 })
    }

    /// Threads of inference (at least 1).
    #[setter]
    fn set_n_jobs(&mut self, n_jobs: usize) -> PyResult<()> {
        self.threads = thread_count(n_jobs)?;
        Ok(())
    }

    /// Domain size of every variable.
    #[getter]
    fn cardinalities(&self) -> Vec<usize> {
        self.model.domains().to_vec()
    }

    /// The evidence the model holds, `(variable, value)` pairs in variable order.
    #[getter]
    fn evidence(&self) -> Evidence {
        let evidence = self.model.evidence().iter().enumerate();
        evidence.filter_map(|(v, x)| Some((v, (*x)?))).collect()
    }

    /// Every factor as `(scope, log-potentials)`: the scope ascending, the table flat with
    /// the last scope variable fastest (`-inf`: forbidden).
    fn factors<'py>(&self, py: Python<'py>) -> Vec<(Vec<usize>, Bound<'py, PyArray1<f64>>)> {
        let domains = self.model.domains();
        let tables = self
            .model
            .factors()
            .iter()
            .flat_map(|f| f.to_tables(domains));
        tables
            .map(|t| (t.vars, t.values.into_pyarray(py)))
            .collect()
    }

    /// Number of factors.
    #[getter]
    fn n_factors(&self) -> usize {
        self.model.factors().len()
    }

    /// The energy `E(x)` of a full assignment (`+inf` if it breaks a hard constraint).
    fn energy(&self, assignment: Vec<usize>) -> PyResult<f64> {
        let domains = self.model.domains();
        if assignment.len() != domains.len() || assignment.iter().zip(domains).any(|(x, d)| x >= d)
        {
            return Err(PyValueError::new_err(format!(
                "an assignment needs one value per variable ({}), each below its cardinality",
                domains.len()
            )));
        }
        Ok(self.model.energy(&assignment))
    }

    /// `ln Z` with `evidence` (ln of the probability of the evidence times the normalizer
    /// of a Markov network): exact elimination, or the Bethe estimate of sum-product BP.
    fn log_partition(&self, py: Python<'_>, evidence: Evidence, options: Options) -> PyResult<f64> {
        let model = self.conditioned(&evidence)?;
        let bp = choose("method", &options.method, [("exact", false), ("bp", true)])?;
        compute(py, self.threads, |_| -> Result<f64, FactorError> {
            if bp {
                Ok(loopy_bp(&model, Semiring::SumProduct, &options.bp())?.bethe_log_z)
            } else {
                exact::log_partition(&model, options.max_table())
            }
        })
    }

    /// Exact `ln Z` under each of `evidence_sets` (a joint query's states); a set of
    /// probability zero gives `-inf`.
    fn log_partitions(
        &self,
        py: Python<'_>,
        evidence_sets: Vec<Evidence>,
        options: Options,
    ) -> PyResult<Vec<f64>> {
        let models: Vec<Cow<'_, FactorModel>> = evidence_sets
            .iter()
            .map(|evidence| self.conditioned(evidence))
            .collect::<PyResult<_>>()?;
        let max_table = options.max_table();
        compute(py, self.threads, |_| {
            let each = models
                .iter()
                .map(|model| match exact::log_partition(model, max_table) {
                    Err(FactorError::ZeroProbability(_)) => Ok(f64::NEG_INFINITY),
                    found => found,
                });
            each.collect::<Result<Vec<f64>, FactorError>>()
        })
    }

    /// `p(x_v | evidence)` of every variable: exact (two passes over the bucket tree),
    /// sum-product BP beliefs, or Rao-Blackwellised Gibbs estimates.
    fn marginals(
        &self,
        py: Python<'_>,
        evidence: Evidence,
        options: Options,
    ) -> PyResult<Vec<Vec<f64>>> {
        let model = self.conditioned(&evidence)?;
        let methods = [("exact", 0), ("bp", 1), ("gibbs", 2)];
        let method = choose("method", &options.method, methods)?;
        let gibbs = options.gibbs();
        compute(py, self.threads, |_| match method {
            0 => exact::marginals(&model, options.max_table()),
            1 => Ok(loopy_bp(&model, Semiring::SumProduct, &options.bp())?.beliefs),
            _ => Ok(estimate_marginals(&model, &gibbs)?.marginals),
        })
    }

    /// The MAP assignment by `options.method` (any of `ebm_factor::solve`'s, by name).
    fn map_query<'py>(
        &self,
        py: Python<'py>,
        evidence: Evidence,
        options: Options,
    ) -> PyResult<MapAnswer<'py>> {
        let model = self.conditioned(&evidence)?;
        let methods = [
            Method::Exact,
            Method::GraphCut,
            Method::Icm,
            Method::Anneal,
            Method::MaxProduct,
            Method::Mplp,
            Method::BranchAndBound,
            Method::Lns,
        ];
        let method = choose("method", &options.method, methods.map(|m| (m.name(), m)))?;
        let budgets = options.solve(method)?;
        let solved = compute(py, self.threads, |_| solve(&model, method, &budgets))?;
        let solution = solved.solution;
        let ln_value = solution.ln_value(&model);
        let assignment: Vec<i64> = solution.assignment.iter().map(|&x| x as i64).collect();
        Ok((
            assignment.into_pyarray(py),
            solution.energy,
            ln_value,
            solution.lower_bound,
            solved.complete,
        ))
    }

    /// `n` states (`n x n_variables`) drawn by chromatic Gibbs sweeps from `chains`
    /// chains, each burned in for `burn_in` sweeps and read every `thin` sweeps.
    #[allow(clippy::too_many_arguments)]
    fn sample<'py>(
        &self,
        py: Python<'py>,
        n: usize,
        evidence: Evidence,
        chains: usize,
        burn_in: usize,
        thin: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, PyArray2<i64>>> {
        let model = self.conditioned(&evidence)?;
        let config = SampleConfig {
            chains,
            burn_in,
            thin,
            seed,
        };
        let states = compute(py, self.threads, |_| sample(&model, n, &config))?;
        let width = model.domains().len();
        let flat: Vec<i64> = states.iter().flatten().map(|&x| x as i64).collect();
        let array = Array2::from_shape_vec((n, width), flat).expect("n states of every variable");
        Ok(array.into_pyarray(py))
    }
}
