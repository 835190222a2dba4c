//! Accuracy and ranking metrics of rating predictions.

use crate::CfModel;
use crate::dataset::Query;
use rayon::prelude::*;

/// Root-mean-square and mean absolute error of `predicted` against the true values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accuracy {
    /// Root-mean-square error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
}

/// RMSE and MAE of `predicted[i]` against `queries[i].value` (NaN for no queries).
pub fn accuracy(queries: &[Query], predicted: &[f32]) -> Accuracy {
    assert_eq!(queries.len(), predicted.len(), "one prediction per query");
    let (mut squared, mut absolute) = (0.0f64, 0.0f64);
    for (q, &p) in queries.iter().zip(predicted) {
        let e = (p - q.value) as f64;
        squared += e * e;
        absolute += e.abs();
    }
    let n = queries.len() as f64;
    Accuracy {
        rmse: (squared / n).sqrt(),
        mae: absolute / n,
    }
}

/// Top-k ranking quality on held-out ratings, averaged over users with at least one
/// relevant held-out item.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranking {
    /// The k of the metrics.
    pub k: usize,
    /// Fraction of the top k that are relevant held-out items.
    pub precision: f64,
    /// Fraction of the relevant held-out items that are in the top k.
    pub recall: f64,
    /// Normalized discounted cumulative gain of the top k (binary relevance).
    pub ndcg: f64,
    /// Users averaged over.
    pub users: usize,
}

/// Rank, for every test user, all items they did not rate in training by expected
/// rating, and score the top `k` against the held-out items rated at least
/// `relevant_from` (e.g. 4 on a 1..5 scale). Held-out items unknown to the model cannot
/// be ranked and are left out.
pub fn ranking(model: &CfModel, test: &[Query], k: usize, relevant_from: f32) -> Ranking {
    let mut relevant: Vec<(u32, u32)> = test
        .iter()
        .filter(|q| q.value >= relevant_from)
        .filter_map(|q| Some((q.user?, q.item?)))
        .collect();
    relevant.sort_unstable();
    relevant.dedup();
    let per_user: Vec<&[(u32, u32)]> = relevant.chunk_by(|a, b| a.0 == b.0).collect();
    let all_inputs = model.all_hidden_inputs();
    let n_items = model.items().len();
    let discount = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let scores: Vec<(f64, f64, f64)> = per_user
        .par_iter()
        .map(|items| {
            let user = items[0].0;
            let mut scores = vec![0.0f32; n_items];
            model.user_scores(user, &all_inputs, &mut scores);
            let rated = model.rated_items(user);
            let mut candidates: Vec<u32> = (0..n_items as u32)
                .filter(|i| rated.binary_search(i).is_err())
                .collect();
            let top = k.min(candidates.len());
            let by_score = |a: &u32, b: &u32| {
                scores[*b as usize]
                    .total_cmp(&scores[*a as usize])
                    .then(a.cmp(b))
            };
            if top > 0 && top < candidates.len() {
                candidates.select_nth_unstable_by(top - 1, by_score);
            }
            candidates.truncate(top);
            candidates.sort_unstable_by(by_score);
            let is_relevant = |item: u32| items.binary_search(&(user, item)).is_ok();
            let hits: Vec<bool> = candidates.iter().map(|&i| is_relevant(i)).collect();
            let n_hits = hits.iter().filter(|&&h| h).count() as f64;
            let dcg: f64 = hits
                .iter()
                .enumerate()
                .filter(|(_, h)| **h)
                .map(|(r, _)| discount(r))
                .sum();
            let ideal: f64 = (0..items.len().min(k)).map(discount).sum();
            (n_hits / k as f64, n_hits / items.len() as f64, dcg / ideal)
        })
        .collect();
    let n = scores.len().max(1) as f64;
    Ranking {
        k,
        precision: scores.iter().map(|s| s.0).sum::<f64>() / n,
        recall: scores.iter().map(|s| s.1).sum::<f64>() / n,
        ndcg: scores.iter().map(|s| s.2).sum::<f64>() / n,
        users: scores.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_formulas() {
        let q = |value| Query {
            user: None,
            item: None,
            value,
        };
        let a = accuracy(&[q(1.0), q(3.0)], &[2.0, 3.0]);
        assert!((a.rmse - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((a.mae - 0.5).abs() < 1e-12);
    }
}
