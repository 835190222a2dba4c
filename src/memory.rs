//! Memory bounds of the size flags: the bytes a flag's value implies, alone (at parse
//! time, [`crate::args::count`]) or times the size of what it is applied to (once the data
//! or the model are read, before any work), against the memory available. Every bound goes
//! through one check, [`check`]; the functions below only say what a command allocates.

use crate::Failure;
use ebm_factor::FactorModel;

/// The bound used when `/proc/meminfo` cannot be read: 16 GiB.
const FALLBACK_BYTES: u128 = 16 << 30;

/// The memory available to this process, in bytes (`MemAvailable` of `/proc/meminfo`,
/// else [`FALLBACK_BYTES`]).
pub fn available_bytes() -> u128 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("MemAvailable:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u128>()
                        .ok()
                })
        })
        .map_or(FALLBACK_BYTES, |kib| kib * 1024)
}

/// Refuse `elements` values of `bytes_each` bytes when they exceed the available memory
/// (the message says how much they need and how much there is).
pub fn fits(elements: u128, bytes_each: u128) -> Result<(), String> {
    let need = elements.saturating_mul(bytes_each);
    let have = available_bytes();
    if need > have {
        Err(format!(
            "needs {} MiB of memory and {} MiB are available",
            need >> 20,
            have >> 20
        ))
    } else {
        Ok(())
    }
}

/// The one check: refuse, as bad input naming `what` (the flags and the sizes they
/// multiply, e.g. `--colors 4000 x 138 vertices`), the `elements` values of `bytes_each`
/// bytes a command would allocate, before any work starts.
pub fn check(what: &str, elements: u128, bytes_each: u128) -> Result<(), Failure> {
    fits(elements, bytes_each).map_err(|why| Failure::input(format!("{what}: {why}")))
}

/// `count` runs or chains (`--ais-runs`, `--chains`) of a loaded RBM's `units` (visible
/// plus hidden) `f32` states, with their next states: refused before sampling when they
/// exceed the available memory.
pub fn check_chains(flag: &str, count: usize, units: usize) -> Result<(), Failure> {
    check(
        &format!("{flag} {count} x {units} units"),
        2 * count as u128 * units as u128,
        4,
    )
}

/// The sizes an RBM trainer allocates (`f32` values), checked once its data (and so
/// `visible`) are known and before training: the weights with their gradient and
/// momentum (`--hidden x visible`, three times), a mini-batch's visible and hidden values
/// (`--batch`, twice for the negative phase) and the persistent chains (`--chains`).
pub fn check_rbm(
    visible: usize,
    hidden: usize,
    batch: usize,
    chains: usize,
) -> Result<(), Failure> {
    let (v, h) = (visible as u128, hidden as u128);
    check(
        &format!("--hidden {hidden} x {visible} visible units"),
        3 * v * h,
        4,
    )?;
    check(
        &format!("--batch {batch} x {} units", visible + hidden),
        2 * batch as u128 * (v + h),
        4,
    )?;
    check(
        &format!("--chains {chains} x {} units", visible + hidden),
        chains as u128 * (v + h),
        4,
    )?;
    check(
        "--hidden, --batch and --chains together",
        3 * v * h + (2 * batch as u128 + chains as u128) * (v + h),
        4,
    )
}

/// Bytes of one sampler copy (a Gibbs chain's replica, an annealing run) per state of a
/// factor model: its assignment, next values, best and polished assignments (8 bytes
/// each per variable) and its conditional probabilities (8 bytes per value), with the
/// chain's marginal sums; 32 bytes per (variable or value) bounds them all.
const SAMPLER_BYTES_PER_STATE: u128 = 32;

/// `copies` sampler copies (`--chains`, times `--replicas` for parallel tempering) of
/// `model`'s states (its variables plus the values of their domains), refused before
/// sampling when they exceed the available memory. `flags` names the flags and their
/// values, e.g. `--chains 4 x --replicas 8`.
pub fn check_samplers(flags: &str, copies: u128, model: &FactorModel) -> Result<(), Failure> {
    let domains = model.domains();
    let states = domains.len() as u128 + domains.iter().map(|&d| d as u128).sum::<u128>();
    check(
        &format!("{flags} x {states} model states"),
        copies.saturating_mul(states),
        SAMPLER_BYTES_PER_STATE,
    )
}

/// `factor color --colors K` on a graph of `vertices` vertices: branch and bound holds
/// per (vertex, color) an alive bit, a projected cost and a value on its stack (3 x 8
/// bytes at most), and each of the `threads` annealing runs a conditional probability (8
/// bytes).
pub fn check_coloring(colors: usize, vertices: usize, threads: usize) -> Result<(), Failure> {
    check(
        &format!("--colors {colors} x {vertices} vertices"),
        colors as u128 * vertices as u128,
        8 * (3 + threads as u128),
    )
}

/// `examples` examples (`--train` plus `--test`) of `bytes_each` bytes each (for the
/// HMM, `--length` positions; [`ebm_learn::tasks::TaskShape::example_bytes`]).
pub fn check_examples(flags: &str, examples: usize, bytes_each: u128) -> Result<(), Failure> {
    check(
        &format!("{flags} ({bytes_each} bytes an example)"),
        examples as u128,
        bytes_each,
    )
}
