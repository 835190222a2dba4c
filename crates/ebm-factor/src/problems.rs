//! Constraint problems as factor graphs: Sudoku (any `n^2 x n^2`), graph coloring and
//! N-queens, with checkers that verify an answer by the problem's own rules (not by the
//! model's energy).

use crate::bnb::{BnbConfig, BnbResult, branch_and_bound};
use crate::model::FactorModel;
use crate::{FactorError, InvalidSetting};
use ebm_data::puzzles::{Graph, Sudoku};

/// The Sudoku model: one variable per cell (values `0..side`), all-different over every
/// row, column and box, the givens as evidence.
pub fn sudoku_model(puzzle: &Sudoku) -> Result<FactorModel, FactorError> {
    let (b, side) = (puzzle.box_size, puzzle.side());
    let mut model = FactorModel::new(vec![side; side * side]);
    for i in 0..side {
        let row: Vec<usize> = (0..side).map(|c| i * side + c).collect();
        let column: Vec<usize> = (0..side).map(|r| r * side + i).collect();
        let (top, left) = ((i / b) * b, (i % b) * b);
        let square: Vec<usize> = (0..side)
            .map(|k| (top + k / b) * side + left + k % b)
            .collect();
        model.add_all_different(&row)?;
        model.add_all_different(&column)?;
        model.add_all_different(&square)?;
    }
    for (cell, given) in puzzle.cells.iter().enumerate() {
        if let Some(x) = given {
            model.set_evidence(cell, *x)?;
        }
    }
    Ok(model)
}

/// Solve a Sudoku by branch and bound with propagation. `Ok(None)`: proven unsolvable,
/// or the limits in `config` were hit (see `complete`).
pub fn solve_sudoku(
    puzzle: &Sudoku,
    config: &BnbConfig,
) -> Result<(Option<Vec<usize>>, BnbResult), FactorError> {
    let model = sudoku_model(puzzle)?;
    let config = BnbConfig {
        first_solution: true,
        ..config.clone()
    };
    let result = branch_and_bound(&model, &config)?;
    let found = result.solution.energy.is_finite();
    Ok((found.then(|| result.solution.assignment.clone()), result))
}

/// True when `solution` fills the grid by the rules and keeps every given.
pub fn check_sudoku(puzzle: &Sudoku, solution: &[usize]) -> bool {
    let (b, side) = (puzzle.box_size, puzzle.side());
    if solution.len() != side * side || solution.iter().any(|&x| x >= side) {
        return false;
    }
    let keeps_givens = puzzle
        .cells
        .iter()
        .zip(solution)
        .all(|(given, &x)| given.is_none_or(|g| g == x));
    let all_present = |cells: &mut dyn Iterator<Item = usize>| {
        let mut seen = vec![false; side];
        cells.for_each(|cell| seen[solution[cell]] = true);
        seen.iter().all(|&s| s)
    };
    keeps_givens
        && (0..side).all(|i| {
            let (top, left) = ((i / b) * b, (i % b) * b);
            all_present(&mut (0..side).map(|c| i * side + c))
                && all_present(&mut (0..side).map(|r| r * side + i))
                && all_present(&mut (0..side).map(|k| (top + k / b) * side + left + k % b))
        })
}

/// The coloring model: one variable per vertex with `colors` values, and a
/// different-values constraint on every edge.
pub fn coloring_model(graph: &Graph, colors: usize) -> Result<FactorModel, FactorError> {
    if colors == 0 {
        return Err(InvalidSetting::new("colors", "must be at least 1").into());
    }
    let mut model = FactorModel::new(vec![colors; graph.vertices]);
    for &(u, v) in &graph.edges {
        model.add_all_different(&[u, v])?;
    }
    Ok(model)
}

/// True when `colors` gives every vertex a color below `k` and no edge one color.
pub fn is_proper_coloring(graph: &Graph, colors: &[usize], k: usize) -> bool {
    colors.len() == graph.vertices
        && colors.iter().all(|&c| c < k)
        && graph.edges.iter().all(|&(u, v)| colors[u] != colors[v])
}

/// The N-queens model: variable `r` is the column of the queen in row `r`; columns are
/// all different and a pairwise table forbids every diagonal attack.
pub fn queens_model(n: usize) -> Result<FactorModel, FactorError> {
    let mut model = FactorModel::new(vec![n; n]);
    model.add_all_different(&(0..n).collect::<Vec<_>>())?;
    for r in 0..n {
        for s in r + 1..n {
            let energies: Vec<f64> = (0..n * n)
                .map(|i| {
                    let (a, b) = (i / n, i % n);
                    if a.abs_diff(b) == s - r {
                        f64::INFINITY
                    } else {
                        0.0
                    }
                })
                .collect();
            model.add_energy_factor(&[r, s], &energies)?;
        }
    }
    Ok(model)
}

/// True when `columns` places `n` queens, one per row, none attacking another.
pub fn check_queens(columns: &[usize]) -> bool {
    let n = columns.len();
    columns.iter().all(|&c| c < n)
        && (0..n).all(|r| {
            (r + 1..n).all(|s| columns[r] != columns[s] && columns[r].abs_diff(columns[s]) != s - r)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_checks_small_problems() {
        let puzzle = Sudoku::parse("1..4.4....4.4..1").unwrap();
        let (solution, _) = solve_sudoku(&puzzle, &BnbConfig::default()).unwrap();
        let solution = solution.expect("solvable");
        assert!(check_sudoku(&puzzle, &solution));
        let mut broken = solution.clone();
        broken.swap(0, 1);
        assert!(!check_sudoku(&puzzle, &broken));
        // A 16x16 puzzle: a pattern solution with about half the cells blanked.
        let b = 4usize;
        let side = b * b;
        let cells = (0..side * side)
            .map(|i| {
                let (r, c) = (i / side, i % side);
                let value = (b * (r % b) + r / b + c) % side;
                ((i * 7919) % 13 >= 6).then_some(value)
            })
            .collect();
        let big = Sudoku { box_size: b, cells };
        let (solution, _) = solve_sudoku(&big, &BnbConfig::default()).unwrap();
        assert!(
            check_sudoku(&big, &solution.expect("solvable")),
            "{side}x{side}"
        );
        // Two equal givens in a row: proven unsolvable.
        let bad = Sudoku::parse("11..............").unwrap();
        let (none, result) = solve_sudoku(&bad, &BnbConfig::default()).unwrap();
        assert!(none.is_none() && result.complete);

        let odd_cycle = Graph {
            vertices: 5,
            edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)],
        };
        let config = BnbConfig {
            interchangeable_values: true,
            first_solution: true,
            ..BnbConfig::default()
        };
        let two = branch_and_bound(&coloring_model(&odd_cycle, 2).unwrap(), &config).unwrap();
        assert!(two.complete && two.solution.energy.is_infinite());
        let three = branch_and_bound(&coloring_model(&odd_cycle, 3).unwrap(), &config).unwrap();
        assert!(is_proper_coloring(
            &odd_cycle,
            &three.solution.assignment,
            3
        ));
        assert!(!is_proper_coloring(&odd_cycle, &[0, 1, 0, 1, 0], 2));

        let config = BnbConfig {
            first_solution: true,
            ..BnbConfig::default()
        };
        for n in [1, 4, 8, 12] {
            let model = queens_model(n).unwrap();
            let found = branch_and_bound(&model, &config).unwrap();
            assert!(check_queens(&found.solution.assignment), "{n}");
        }
        let none = branch_and_bound(&queens_model(3).unwrap(), &config).unwrap();
        assert!(none.complete && none.solution.energy.is_infinite());
        assert!(!check_queens(&[0, 1]));
    }
}
