//! `ebm cf recommend`.

use super::RecommendArgs;
use crate::Failure;
use ebm_cf::{CfError, CfModel, ModelFile};
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
    let titles = match &args.titles {
        Some(path) => ebm_data::ratings::read_titles(path).map_err(Failure::input)?,
        None => Default::default(),
    };
    let title = |item: u64| titles.get(&item).cloned().unwrap_or_default();
    if args.output.json {
        let items: Vec<u64> = list.iter().map(|&(item, _)| item).collect();
        let scores: Vec<f64> = list.iter().map(|&(_, s)| s as f64).collect();
        let mut object = json!({ "user": args.user, "items": items, "expected_ratings": scores });
        if args.titles.is_some() {
            let names: Vec<String> = list.iter().map(|&(item, _)| title(item)).collect();
            object["titles"] = json!(names);
        }
        crate::output::outln!("{object}");
    } else {
        crate::output::outln!("rank      item  expected  title");
        for (rank, (item, score)) in list.iter().enumerate() {
            crate::output::outln!("{:>4}  {item:>8}  {score:>8.3}  {}", rank + 1, title(*item));
        }
    }
    Ok(())
}
