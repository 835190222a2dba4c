//! A trained recommender: the shared RBM plus the ratings each case is conditioned on.

use crate::dataset::{IdMap, Query, RatingLevels, RatingsData};
use crate::{CfError, CfRbm, RatingMatrix};
use ebm_core::ModelFile;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Model-file kind of a [`CfModel`].
pub const MODEL_KIND: &str = "cf-rbm";

/// A query located in orientation space: `(case, unit, query index)`.
type Located = (Option<u32>, Option<u32>, usize);

/// Which side of the rating matrix is one RBM.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Orientation {
    /// One RBM per user over the items (Salakhutdinov, Mnih & Hinton 2007).
    UserBased,
    /// One RBM per item over the users (I-RBM).
    ItemBased,
}

impl Orientation {
    /// `(case, unit)` of a `(user, item)` pair.
    #[inline]
    pub fn case_and_unit(self, user: u32, item: u32) -> (u32, u32) {
        match self {
            Self::UserBased => (user, item),
            Self::ItemBased => (item, user),
        }
    }

    /// Short name (`user`, `item`).
    pub fn name(self) -> &'static str {
        match self {
            Self::UserBased => "user",
            Self::ItemBased => "item",
        }
    }
}

/// A collaborative-filtering RBM together with what it predicts from: the training
/// ratings (each case's visible units) and, for the conditional variant, which units
/// each case rated or will be asked about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CfModel {
    pub(crate) orientation: Orientation,
    pub(crate) rbm: CfRbm,
    pub(crate) users: IdMap,
    pub(crate) items: IdMap,
    pub(crate) levels: RatingLevels,
    /// Training ratings in orientation space: rows are cases, columns units.
    pub(crate) cases: RatingMatrix,
    /// Rated-or-asked indicators in orientation space (conditional variant only).
    pub(crate) implicit: Option<RatingMatrix>,
    pub(crate) mean_rating: f32,
}

impl CfModel {
    /// Assemble a model around `rbm` for `data`; `asked` are the pairs whose ratings will
    /// be predicted (their items count as "rated" for the conditional variant).
    pub(crate) fn assemble(
        orientation: Orientation,
        rbm: CfRbm,
        data: &RatingsData,
        asked: &[Query],
    ) -> Result<Self, CfError> {
        let cases = match orientation {
            Orientation::UserBased => data.by_user.clone(),
            Orientation::ItemBased => data.by_user.transpose(),
        };
        let implicit = if rbm.is_conditional() {
            Some(implicit_matrix(orientation, &cases, asked)?)
        } else {
            None
        };
        Ok(Self {
            orientation,
            rbm,
            users: data.users.clone(),
            items: data.items.clone(),
            levels: data.levels.clone(),
            cases,
            implicit,
            mean_rating: data.mean_rating(),
        })
    }

    /// The shared RBM.
    pub fn rbm(&self) -> &CfRbm {
        &self.rbm
    }

    /// User-based or item-based.
    pub fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// Users known to the model.
    pub fn users(&self) -> &IdMap {
        &self.users
    }

    /// Items known to the model.
    pub fn items(&self) -> &IdMap {
        &self.items
    }

    /// The rating levels.
    pub fn levels(&self) -> &RatingLevels {
        &self.levels
    }

    /// Number of training ratings the model conditions on.
    pub fn n_ratings(&self) -> usize {
        self.cases.n_entries()
    }

    /// `ratings` (file ids) in the model's index space.
    pub fn queries(&self, ratings: &[ebm_data::ratings::Rating]) -> Vec<Query> {
        crate::dataset::locate(&self.users, &self.items, ratings)
    }

    /// Write the hidden input of `case` (`None`: a case with no ratings) into `out`.
    pub fn case_hidden_input(&self, case: Option<u32>, out: &mut [f32]) {
        match case {
            Some(case) => {
                let (units, levels) = self.cases.row(case as usize);
                let implicit = self
                    .implicit
                    .as_ref()
                    .map_or(&[][..], |m| m.row(case as usize).0);
                self.rbm.hidden_input(units, levels, implicit, out);
            }
            None => self.rbm.implicit_input(&[], out),
        }
    }

    /// Expected rating of `unit` given the case's hidden input (exact conditional).
    pub fn expected_rating(&self, hidden_input: &[f32], unit: u32, level_probs: &mut [f32]) -> f32 {
        self.rbm.level_distribution(hidden_input, unit, level_probs);
        level_probs
            .iter()
            .zip(self.levels.values())
            .map(|(p, v)| p * v)
            .sum()
    }

    /// Mean training rating of `case`, or of all ratings when the case is unknown.
    fn fallback(&self, case: Option<u32>) -> f32 {
        let values = self.levels.values();
        match case.map(|c| self.cases.row(c as usize).1) {
            Some(levels) if !levels.is_empty() => {
                levels.iter().map(|&l| values[l as usize]).sum::<f32>() / levels.len() as f32
            }
            _ => self.mean_rating,
        }
    }

    /// Predicted (expected) rating of every query, in order. An unknown user or item
    /// falls back as well as it can: an unknown case uses the hidden biases alone, an
    /// unknown unit the case's mean rating (or the global mean). Runs on the current
    /// rayon pool; the result does not depend on the number of threads.
    pub fn predict(&self, queries: &[Query]) -> Vec<f32> {
        let mut order: Vec<Located> = queries
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let (case, unit) = match (q.user, q.item) {
                    (Some(u), Some(i)) => {
                        let (c, v) = self.orientation.case_and_unit(u, i);
                        (Some(c), Some(v))
                    }
                    (user, item) => match self.orientation {
                        Orientation::UserBased => (user, item),
                        Orientation::ItemBased => (item, user),
                    },
                };
                (case, unit, i)
            })
            .collect();
        order.sort_unstable_by_key(|&(case, _, i)| (case, i));
        let groups: Vec<&[Located]> = order.chunk_by(|a, b| a.0 == b.0).collect();
        let n_hidden = self.rbm.n_hidden();
        let n_levels = self.rbm.n_levels();
        let predicted: Vec<Vec<(usize, f32)>> = groups
            .par_iter()
            .map(|group| {
                let case = group[0].0;
                let mut input = vec![0.0f32; n_hidden];
                let mut probs = vec![0.0f32; n_levels];
                self.case_hidden_input(case, &mut input);
                group
                    .iter()
                    .map(|&(_, unit, i)| {
                        let value = match unit {
                            Some(unit) => self.expected_rating(&input, unit, &mut probs),
                            None => self.fallback(case),
                        };
                        (i, value)
                    })
                    .collect()
            })
            .collect();
        let mut out = vec![0.0f32; queries.len()];
        for (i, value) in predicted.into_iter().flatten() {
            out[i] = value;
        }
        out
    }

    /// Hidden inputs of every case, `n_cases x n_hidden` (for scoring many pairs).
    pub fn all_hidden_inputs(&self) -> Vec<f32> {
        let n_hidden = self.rbm.n_hidden();
        let mut inputs = vec![0.0f32; self.cases.n_rows() * n_hidden];
        inputs
            .par_chunks_mut(n_hidden)
            .enumerate()
            .for_each(|(case, out)| self.case_hidden_input(Some(case as u32), out));
        inputs
    }

    /// Expected rating of every item for `user` (dense index), given the hidden inputs of
    /// all cases from [`Self::all_hidden_inputs`].
    pub fn user_scores(&self, user: u32, all_inputs: &[f32], out: &mut [f32]) {
        let n_hidden = self.rbm.n_hidden();
        let mut probs = vec![0.0f32; self.rbm.n_levels()];
        match self.orientation {
            Orientation::UserBased => {
                let input = &all_inputs[user as usize * n_hidden..][..n_hidden];
                self.scores_from_user_input(input, out);
            }
            Orientation::ItemBased => {
                for (item, o) in out.iter_mut().enumerate() {
                    let input = &all_inputs[item * n_hidden..][..n_hidden];
                    *o = self.expected_rating(input, user, &mut probs);
                }
            }
        }
    }

    /// Expected rating of every item from a user-based case's hidden input.
    fn scores_from_user_input(&self, input: &[f32], out: &mut [f32]) {
        let mut probs = vec![0.0f32; self.rbm.n_levels()];
        for (item, o) in out.iter_mut().enumerate() {
            *o = self.expected_rating(input, item as u32, &mut probs);
        }
    }

    /// Items `user` rated in training (dense indices, ascending).
    pub fn rated_items(&self, user: u32) -> Vec<u32> {
        match self.orientation {
            Orientation::UserBased => self.cases.row(user as usize).0.to_vec(),
            Orientation::ItemBased => (0..self.cases.n_rows() as u32)
                .filter(|&item| self.cases.get(item as usize, user).is_some())
                .collect(),
        }
    }

    /// The `top` items with the highest expected rating for the user with file id
    /// `user_id`, excluding the items they rated in training: `(item id, expected rating)`,
    /// best first (ties: lower item id first).
    pub fn recommend(&self, user_id: u64, top: usize) -> Result<Vec<(u64, f32)>, CfError> {
        let user = self
            .users
            .index(user_id)
            .ok_or(CfError::UnknownUser(user_id))?;
        let mut scores = vec![0.0f32; self.items.len()];
        match self.orientation {
            Orientation::UserBased => {
                // Only this user's hidden input is needed.
                let mut input = vec![0.0f32; self.rbm.n_hidden()];
                self.case_hidden_input(Some(user), &mut input);
                self.scores_from_user_input(&input, &mut scores);
            }
            Orientation::ItemBased => {
                self.user_scores(user, &self.all_hidden_inputs(), &mut scores);
            }
        }
        let rated = self.rated_items(user);
        let mut candidates: Vec<(u32, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(item, _)| rated.binary_search(&(*item as u32)).is_err())
            .map(|(item, &s)| (item as u32, s))
            .collect();
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(candidates
            .into_iter()
            .take(top)
            .map(|(item, s)| (self.items.id(item), s))
            .collect())
    }
}

/// A recommender's model file: kind [`MODEL_KIND`], shapes `[n_units, n_levels,
/// n_hidden]`; the payload holds the RBM and the ratings it conditions on.
impl ModelFile for CfModel {
    const KIND: &'static str = MODEL_KIND;

    fn shapes(&self) -> Vec<u64> {
        vec![
            self.rbm.n_units() as u64,
            self.rbm.n_levels() as u64,
            self.rbm.n_hidden() as u64,
        ]
    }

    fn parameters(&self) -> Vec<&[f32]> {
        self.rbm.parameters()
    }

    fn check(&self) -> Result<(), String> {
        self.rbm.validate()?;
        self.cases.validate()?;
        let (n_users, n_items) = (self.users.len(), self.items.len());
        let (rows, cols) = match self.orientation {
            Orientation::UserBased => (n_users, n_items),
            Orientation::ItemBased => (n_items, n_users),
        };
        let consistent = self.cases.n_rows() == rows
            && self.cases.n_cols() == cols
            && self.rbm.n_units() == cols
            && self.rbm.n_levels() == self.levels.len()
            && self.implicit.is_some() == self.rbm.is_conditional()
            && self
                .implicit
                .as_ref()
                .is_none_or(|m| m.validate().is_ok() && m.n_rows() == rows && m.n_cols() == cols);
        if consistent {
            Ok(())
        } else {
            Err("the header's shapes, id maps, ratings and parameters disagree".into())
        }
    }
}

/// Rated-or-asked indicators in orientation space: the training cells plus the known
/// `asked` pairs, each once.
fn implicit_matrix(
    orientation: Orientation,
    cases: &RatingMatrix,
    asked: &[Query],
) -> Result<RatingMatrix, CfError> {
    let mut triples: Vec<(u32, u32, u8)> = Vec::with_capacity(cases.n_entries() + asked.len());
    for case in 0..cases.n_rows() {
        for &unit in cases.row(case).0 {
            triples.push((case as u32, unit, 0));
        }
    }
    for q in asked {
        if let (Some(user), Some(item)) = (q.user, q.item) {
            let (case, unit) = orientation.case_and_unit(user, item);
            triples.push((case, unit, 0));
        }
    }
    triples.sort_unstable();
    triples.dedup();
    RatingMatrix::from_triples(cases.n_rows(), cases.n_cols(), triples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{TrainConfig, initial_model};
    use ebm_data::ratings::Rating;

    fn data() -> RatingsData {
        let r = |user, item, value| Rating { user, item, value };
        RatingsData::from_ratings(&[r(1, 10, 5.0), r(1, 11, 4.0), r(2, 10, 1.0), r(3, 12, 2.0)])
            .unwrap()
    }

    #[test]
    fn implicit_inputs_are_training_cells_plus_asked_pairs() {
        let data = data();
        let asked = [
            Query {
                user: Some(2),
                item: Some(1),
                value: 0.0,
            },
            Query {
                user: Some(0),
                item: Some(0),
                value: 0.0,
            },
            Query {
                user: None,
                item: Some(2),
                value: 0.0,
            },
        ];
        for orientation in [Orientation::UserBased, Orientation::ItemBased] {
            let config = TrainConfig {
                orientation,
                conditional: true,
                n_hidden: 3,
                ..TrainConfig::default()
            };
            let model = initial_model(&config, &data, &asked).unwrap();
            let implicit = model.implicit.as_ref().unwrap();
            // 4 training cells + (user 2, item 1); (0, 0) repeats a training cell and the
            // unknown user is left out.
            assert_eq!(implicit.n_entries(), 5);
            let (case, unit) = orientation.case_and_unit(2, 1);
            assert!(implicit.get(case as usize, unit).is_some());
        }
    }

    #[test]
    fn save_load_round_trip_and_recommend() {
        let dir = std::env::temp_dir().join(format!("ebm-cf-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.ebm");
        for orientation in [Orientation::UserBased, Orientation::ItemBased] {
            let config = TrainConfig {
                orientation,
                n_hidden: 3,
                ..TrainConfig::default()
            };
            let model = initial_model(&config, &data(), &[]).unwrap();
            model.save(&path).unwrap();
            let loaded = CfModel::load(&path).unwrap();
            assert_eq!(loaded, model);
            // User 1 rated items 10 and 11: only 12 is left to recommend.
            let list = loaded.recommend(1, 5).unwrap();
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].0, 12);
            assert!(matches!(
                loaded.recommend(7, 5),
                Err(CfError::UnknownUser(7))
            ));
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(CfModel::load(&path).is_err());
    }

    #[test]
    fn unknown_users_and_items_fall_back() {
        let data = data();
        let config = TrainConfig {
            orientation: Orientation::UserBased,
            n_hidden: 3,
            ..TrainConfig::default()
        };
        let model = initial_model(&config, &data, &[]).unwrap();
        let r = |user, item| Rating {
            user,
            item,
            value: 3.0,
        };
        let queries = model.queries(&[r(1, 99), r(99, 99), r(99, 10)]);
        let predicted = model.predict(&queries);
        assert_eq!(predicted[0], 4.5); // user 1's mean
        assert_eq!(predicted[1], 3.0); // global mean
        assert!((1.0..=5.0).contains(&predicted[2]));
    }
}
