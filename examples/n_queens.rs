//! N-queens as a factor graph: one variable per row (the queen's column), an all-different
//! constraint on the columns and a pairwise table forbidding each diagonal attack, solved
//! by branch and bound with propagation and checked by the rules.
//!
//! cargo run --release --example n_queens -- [N ...]   (default: 8 16 32 64)

use ebm::factor::bnb::{BnbConfig, branch_and_bound};
use ebm::factor::problems::{check_queens, queens_model};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = match std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<Vec<_>, _>>()?
    {
        s if s.is_empty() => vec![8, 16, 32, 64],
        s => s,
    };
    let config = BnbConfig {
        first_solution: true,
        time_limit: Some(Duration::from_secs(60)),
        ..BnbConfig::default()
    };
    println!(
        "{:>4} {:>10} {:>10} {:>8}",
        "N", "nodes", "seconds", "checked"
    );
    for n in sizes {
        let model = queens_model(n)?;
        let start = Instant::now();
        let result = branch_and_bound(&model, &config)?;
        let seconds = start.elapsed().as_secs_f64();
        let found = result.solution.energy.is_finite();
        let checked = found && check_queens(&result.solution.assignment);
        println!(
            "{n:>4} {:>10} {seconds:>10.4} {checked:>8}",
            result.solution.iterations
        );
        if n <= 16 && found {
            for &column in &result.solution.assignment {
                let row: String = (0..n)
                    .map(|c| if c == column { 'Q' } else { '.' })
                    .collect();
                println!("     {row}");
            }
        }
    }
    Ok(())
}
