//! `ebm cf recommend`.

use super::RecommendArgs;
use crate::Failure;
use ebm_cf::{CfError, CfModel};
use serde_json::json;

/// Run `ebm cf recommend`.
pub fn run(args: RecommendArgs) -> Result<(), Failure> {
    if args.top == 0 {
        return Err(Failure::input("--top must be at least 1"));
    }
    let model = CfModel::load(&args.model).map_err(Failure::input)?;
    let list = model.recommend(args.user, args.top).map_err(|e| match e {
        CfError::UnknownUser(id) => Failure::input(format!(
            "--user: user {id} is not in {}'s training ratings",
            args.model.display()
        )),
        other => Failure::run(other),
    })?;
    if args.json {
        let items: Vec<u64> = list.iter().map(|&(item, _)| item).collect();
        let scores: Vec<f64> = list.iter().map(|&(_, s)| s as f64).collect();
        println!(
            "{}",
            json!({ "user": args.user, "items": items, "expected_ratings": scores })
        );
    } else {
        println!("rank  item  expected rating");
        for (rank, (item, score)) in list.iter().enumerate() {
            println!("{:>4}  {item:>4}  {score:.3}", rank + 1);
        }
    }
    Ok(())
}
