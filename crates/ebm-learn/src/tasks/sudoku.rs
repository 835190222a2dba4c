//! Learning Sudoku's rules from solved grids. The model knows nothing of rows, columns or
//! boxes: every pair of cells gets its own label-label table (`side^2 (side^2 - 1) / 2`
//! tables of `side^2` weights), learned from solutions alone. Which pairs must differ is
//! for the learner to find; MAP with the clues as evidence then solves puzzles.

use super::{Task, TaskShape};
use crate::LearnError;
use crate::data::{Example, Structure};
use crate::templates::TemplateSet;
use ebm_core::InvalidSetting;
use ebm_data::puzzles::Sudoku;
use ebm_kernels::rng::{self, StreamRng};
use std::sync::Arc;

/// A uniformly shuffled solved grid of box size `box_size` (values `0..side`), by
/// randomized backtracking. This is the data generator: the learner only sees its output.
pub fn random_solution(box_size: usize, random: &mut StreamRng) -> Vec<usize> {
    let side = box_size * box_size;
    let mut grid = vec![usize::MAX; side * side];
    let mut used = vec![false; 3 * side * side];
    fill(box_size, 0, &mut grid, &mut used, random);
    grid
}

/// The (row, column, box) unit indices of `cell`.
fn units(box_size: usize, cell: usize) -> [usize; 3] {
    let side = box_size * box_size;
    let (r, c) = (cell / side, cell % side);
    [
        r,
        side + c,
        2 * side + (r / box_size) * box_size + c / box_size,
    ]
}

fn fill(
    box_size: usize,
    cell: usize,
    grid: &mut [usize],
    used: &mut [bool],
    random: &mut StreamRng,
) -> bool {
    let side = box_size * box_size;
    if cell == grid.len() {
        return true;
    }
    let mut order: Vec<usize> = (0..side).collect();
    rng::shuffle(random, &mut order);
    let unit = units(box_size, cell);
    for value in order {
        if unit.iter().any(|&u| used[u * side + value]) {
            continue;
        }
        unit.iter().for_each(|&u| used[u * side + value] = true);
        grid[cell] = value;
        if fill(box_size, cell + 1, grid, used, random) {
            return true;
        }
        unit.iter().for_each(|&u| used[u * side + value] = false);
    }
    grid[cell] = usize::MAX;
    false
}

/// Templates and structure with one label-label table per pair of cells.
pub fn all_pairs_structure(side: usize) -> Result<(TemplateSet, Arc<Structure>), LearnError> {
    let cells = side * side;
    let mut templates = TemplateSet::new();
    let mut structure = Structure::new(vec![side; cells]);
    for a in 0..cells {
        for b in a + 1..cells {
            let t = templates.add(&format!("cells {a}-{b}"), &[side, side], 1)?;
            structure.add_factor(&templates, t, &[a, b])?;
        }
    }
    Ok((templates, Arc::new(structure)))
}

/// `count` random solved grids of box size `box_size` as training examples (no test set).
pub fn solved_grid_task(box_size: usize, count: usize, seed: u64) -> Result<Task, LearnError> {
    let (templates, structure) = all_pairs_structure(box_size * box_size)?;
    let features = vec![1.0; structure.feature_len()];
    let train = (0..count)
        .map(|i| {
            let grid = random_solution(box_size, &mut rng::stream(seed, i as u64, 0));
            Example::new(structure.clone(), features.clone(), grid)
        })
        .collect::<Result<_, _>>()?;
    Ok(Task {
        shape: TaskShape::Sudoku { box_size },
        templates,
        train,
        test: Vec::new(),
    })
}

/// The same examples with a random `clue_fraction` of each grid's cells given as
/// evidence, as in a puzzle (the cells are drawn at random, not by any rule).
pub fn with_random_clues(
    examples: &[Example],
    clue_fraction: f64,
    seed: u64,
) -> Result<Vec<Example>, LearnError> {
    if !(0.0..=1.0).contains(&clue_fraction) {
        return Err(InvalidSetting::new(
            "clue_fraction",
            format!("{clue_fraction} is not in [0, 1]"),
        )
        .into());
    }
    examples
        .iter()
        .enumerate()
        .map(|(i, example)| {
            let mut random = rng::stream(seed, i as u64, 1);
            let evidence = example
                .labels
                .iter()
                .map(|&x| (rng::uniform_f64(&mut random) < clue_fraction).then_some(x))
                .collect();
            example.clone().with_evidence(evidence)
        })
        .collect()
}

/// A puzzle as an example of `structure`: the clues are evidence. The labels of blank
/// cells are unknown (0); score predictions with [`ebm_factor::problems::check_sudoku`].
pub fn puzzle_example(structure: &Arc<Structure>, puzzle: &Sudoku) -> Result<Example, LearnError> {
    if puzzle.cells.len() != structure.variable_count() {
        return Err(LearnError::InvalidData(format!(
            "a puzzle of {} cells for a model of {}",
            puzzle.cells.len(),
            structure.variable_count()
        )));
    }
    let labels = puzzle.cells.iter().map(|c| c.unwrap_or(0)).collect();
    Example::new(
        structure.clone(),
        vec![1.0; structure.feature_len()],
        labels,
    )?
    .with_evidence(puzzle.cells.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_factor::problems::check_sudoku;

    #[test]
    fn generated_grids_are_valid_and_differ() {
        let mut random = rng::stream(5, 0, 0);
        let a = random_solution(3, &mut random);
        let b = random_solution(3, &mut random);
        let blank = Sudoku {
            box_size: 3,
            cells: vec![None; 81],
        };
        assert!(check_sudoku(&blank, &a) && check_sudoku(&blank, &b));
        assert_ne!(a, b);
        let (templates, structure) = all_pairs_structure(4).unwrap();
        assert_eq!(structure.slots().len(), 16 * 15 / 2);
        assert_eq!(templates.weight_count(), 120 * 16);
    }
}
