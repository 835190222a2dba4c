//! Learning Sudoku's rules from solved grids alone. Every pair of the 81 cells gets its own
//! 9 x 9 table of energies (3,240 tables, 262,440 weights); nothing says which cells share
//! a row, column or box. Pseudo-likelihood on random solved grids learns soft energies,
//! and the combinations the grids never show (their maximum-likelihood energy is `+inf`)
//! become hard constraints. MAP by branch and bound on the learned model, with the clues
//! as evidence, then solves puzzles; every answer is checked by the rules.
//!
//! EBM_DATA=../shared/data cargo run --release --example sudoku_rules -- [GRIDS] [EPOCHS] [PUZZLES]
//!
//! PUZZLES names a file of `$EBM_DATA/sudoku` (default `easy_50`).

use common::arg;
use ebm::data::data_dir;
use ebm::data::puzzles::read_sudoku;
use ebm::factor::problems::check_sudoku;
use ebm::factor::solve::solve;
use ebm::learn::support::Support;
use ebm::learn::support::instantiate_within;
use ebm::learn::tasks::sudoku::{puzzle_example, solved_grid_task};
use ebm::learn::train::{Learner, TrainConfig};
use std::time::Instant;

mod common;

/// True when cells `a` and `b` share a row, column or box: used only to report what was
/// learned, never by the learner or the solver.
fn share_a_unit(a: usize, b: usize) -> bool {
    let (ra, ca, rb, cb) = (a / 9, a % 9, b / 9, b % 9);
    ra == rb || ca == cb || (ra / 3 == rb / 3 && ca / 3 == cb / 3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let grids: usize = arg(1, 2000)?;
    let epochs: usize = arg(2, 5)?;
    let puzzles_name: String = arg(3, "easy_50".to_string())?;
    let task = solved_grid_task(3, grids, 1)?;
    // The task's usual settings: lr 1, lambda 1e-3, branch and bound (100,000 nodes).
    let config = TrainConfig {
        epochs,
        batch: 32,
        ..task.shape.train_config(Learner::PseudoLikelihood)
    };
    let trained = task.train(&config, |r| {
        println!(
            "epoch {} pseudo-likelihood loss {:.3} ({:.1} s)",
            r.epoch, r.objective, r.seconds
        )
    })?;
    let structure = task.train[0].structure.clone();
    let support = Support::of_data(&task.templates, &task.train);
    // What was learned, split by a rule the learner never saw.
    let mut sums = [[0.0f64; 2]; 2];
    let mut counts = [[0usize; 2]; 2];
    let mut unseen = [0usize; 2];
    for slot in structure.slots() {
        let scope = structure.scope(slot);
        let peers = usize::from(share_a_unit(scope[0], scope[1]));
        let block = task.templates.block(&trained.weights, slot.template);
        for (entry, &w) in block.iter().enumerate() {
            let equal = usize::from(entry / 9 == entry % 9);
            sums[peers][equal] += w;
            counts[peers][equal] += 1;
            unseen[peers] +=
                usize::from(support.forbids(&task.templates, &task.train[0], slot, entry));
        }
    }
    println!("mean learned energy    equal digits  different digits  never seen in {grids} grids");
    for (peers, name) in [(1, "cells sharing a unit"), (0, "other cell pairs    ")] {
        println!(
            "{name}  {:>12.3}  {:>16.3}  {:>10} of {}",
            sums[peers][1] / counts[peers][1] as f64,
            sums[peers][0] / counts[peers][0] as f64,
            unseen[peers],
            counts[peers][0] + counts[peers][1]
        );
    }
    let puzzles = read_sudoku(
        &data_dir::resolve(None)
            .join("sudoku")
            .join(format!("{puzzles_name}.txt")),
    )?;
    // Branch and bound on the learned model itself, within the task's node limit.
    let decode =
        |model: &ebm::factor::FactorModel| -> Result<Vec<usize>, ebm::factor::FactorError> {
            Ok(solve(model, config.map_method, &config.map_options)?
                .solution
                .assignment)
        };
    let (mut solved_soft, mut solved_support, mut below_solution) = (0, 0, 0);
    let (mut seconds_soft, mut seconds_support) = (0.0, 0.0);
    for puzzle in &puzzles {
        let example = puzzle_example(&structure, puzzle)?;
        let soft = instantiate_within(&task.templates, &example, &trained.weights, false, None)?;
        let start = Instant::now();
        let soft_answer = decode(&soft)?;
        seconds_soft += start.elapsed().as_secs_f64();
        let hard = instantiate_within(
            &task.templates,
            &example,
            &trained.weights,
            false,
            Some(&support),
        )?;
        let start = Instant::now();
        let answer = decode(&hard)?;
        seconds_support += start.elapsed().as_secs_f64();
        solved_soft += usize::from(check_sudoku(puzzle, &soft_answer));
        if check_sudoku(puzzle, &answer) {
            solved_support += 1;
            // Does the soft model prefer an invalid filling to the solution?
            below_solution += usize::from(soft.energy(&soft_answer) < soft.energy(&answer));
        }
    }
    let n = puzzles.len();
    println!(
        "{puzzles_name}, soft energies only: {solved_soft} of {n} solved ({seconds_soft:.2} s)"
    );
    println!(
        "{puzzles_name}, unseen combinations forbidden: {solved_support} of {n} solved ({seconds_support:.2} s)"
    );
    println!(
        "soft energies: the filling found has lower energy than the solution on {below_solution} of {solved_support} puzzles"
    );
    Ok(())
}
