//! `ebm cf eval`.

use super::{EvalArgs, source};
use crate::Failure;
use crate::output::Metrics;
use ebm_cf::metrics::{accuracy, ranking};
use ebm_cf::{CfModel, ModelFile};
use std::time::Instant;

/// Run `ebm cf eval`.
pub fn run(args: EvalArgs) -> Result<(), Failure> {
    if args.top_k == 0 {
        return Err(Failure::input("--top-k must be at least 1"));
    }
    let model = CfModel::load(&args.model).map_err(Failure::input)?;
    let loaded = source::load(&args.source)?;
    if loaded.test.is_empty() {
        return Err(Failure::input(
            "no held-out ratings: give --dataset ml-100k --fold uN, --test FILE or --test-fraction F",
        ));
    }
    let queries = model.queries(&loaded.test);
    let start = Instant::now();
    let (acc, rank) = args.measure.run.install(|| {
        let predicted = model.predict(&queries);
        (
            accuracy(&queries, &predicted),
            ranking(&model, &queries, args.top_k, args.relevant_from),
        )
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let k = args.top_k;
    let mut m = Metrics::default();
    m.number("rmse", acc.rmse)
        .number("mae", acc.mae)
        .integer("n_test", queries.len() as u64)
        .integer(
            "unknown_users",
            queries.iter().filter(|q| q.user.is_none()).count() as u64,
        )
        .integer(
            "unknown_items",
            queries.iter().filter(|q| q.item.is_none()).count() as u64,
        )
        .number(&format!("precision_at_{k}"), rank.precision)
        .number(&format!("recall_at_{k}"), rank.recall)
        .number(&format!("ndcg_at_{k}"), rank.ndcg)
        .integer("ranked_users", rank.users as u64)
        .number("seconds", seconds)
        .text("variant", model.orientation().name())
        .text("data", &loaded.description);
    args.measure.output.print(&m);
    Ok(())
}
