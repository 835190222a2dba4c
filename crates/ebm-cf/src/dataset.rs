//! Ratings in model index space: id maps, rating levels and the user-major matrix.

use crate::{CfError, RatingMatrix};
use ebm_data::ratings::Rating;
use serde::{Deserialize, Serialize};

/// Most distinct rating values a model supports (MovieLens half stars use 10).
pub const MAX_LEVELS: usize = 32;

/// External ids (as in the file) to dense indices `0..len`, in ascending id order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IdMap {
    ids: Vec<u64>,
}

impl IdMap {
    /// The map of the distinct ids in `ids`.
    pub fn from_ids(ids: impl IntoIterator<Item = u64>) -> Self {
        let mut ids: Vec<u64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        Self { ids }
    }

    /// Dense index of `id`, if known.
    pub fn index(&self, id: u64) -> Option<u32> {
        self.ids.binary_search(&id).ok().map(|i| i as u32)
    }

    /// External id of dense index `index`.
    pub fn id(&self, index: u32) -> u64 {
        self.ids[index as usize]
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no ids.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn validate(&self) -> Result<(), String> {
        if self.ids.windows(2).any(|w| w[0] >= w[1]) {
            return Err("id map is not strictly ascending".into());
        }
        Ok(())
    }
}

/// The distinct rating values of the training data, ascending: level `k` is `values[k]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingLevels {
    values: Vec<f32>,
}

impl RatingLevels {
    /// The levels of `values`; between 2 and [`MAX_LEVELS`] distinct values.
    pub fn from_values(values: impl IntoIterator<Item = f32>) -> Result<Self, CfError> {
        let mut values: Vec<f32> = values.into_iter().collect();
        values.sort_unstable_by(f32::total_cmp);
        values.dedup();
        if values.len() < 2 || values.len() > MAX_LEVELS {
            return Err(CfError::BadRatings(format!(
                "{} distinct rating values; between 2 and {MAX_LEVELS} are supported",
                values.len()
            )));
        }
        Ok(Self { values })
    }

    /// The level of rating `value`, if it is one of the levels.
    pub fn level(&self, value: f32) -> Option<u8> {
        self.values
            .binary_search_by(|v| v.total_cmp(&value))
            .ok()
            .map(|k| k as u8)
    }

    /// Value of each level, ascending.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Number of levels (`K`).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Never true for a constructed value (kept for API symmetry with `len`).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A training set: who rated what, at which level, with the maps back to file ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingsData {
    /// Users of the training ratings.
    pub users: IdMap,
    /// Items of the training ratings.
    pub items: IdMap,
    /// Rating levels of the training ratings.
    pub levels: RatingLevels,
    /// `users x items` matrix of levels.
    pub by_user: RatingMatrix,
}

/// A rating to predict, in model index space (`None`: not in the training data).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Query {
    /// Dense user index.
    pub user: Option<u32>,
    /// Dense item index.
    pub item: Option<u32>,
    /// The true rating value.
    pub value: f32,
}

impl RatingsData {
    /// Index `train`: every user and item with a rating gets a dense index.
    pub fn from_ratings(train: &[Rating]) -> Result<Self, CfError> {
        if train.is_empty() {
            return Err(CfError::BadRatings("no training ratings".into()));
        }
        let users = IdMap::from_ids(train.iter().map(|r| r.user));
        let items = IdMap::from_ids(train.iter().map(|r| r.item));
        let levels = RatingLevels::from_values(train.iter().map(|r| r.value))?;
        let triples = train
            .iter()
            .map(|r| {
                (
                    users.index(r.user).expect("user was indexed"),
                    items.index(r.item).expect("item was indexed"),
                    levels.level(r.value).expect("value was indexed"),
                )
            })
            .collect();
        let by_user =
            RatingMatrix::from_triples(users.len(), items.len(), triples).map_err(|e| match e {
                CfError::BadRatings(message) if message.contains("twice") => {
                    duplicate_message(train, &users, &items)
                }
                other => other,
            })?;
        Ok(Self {
            users,
            items,
            levels,
            by_user,
        })
    }

    /// Build from an already indexed user-major matrix (synthetic data, benchmarks).
    pub fn from_matrix(by_user: RatingMatrix, levels: RatingLevels) -> Self {
        Self {
            users: IdMap::from_ids(0..by_user.n_rows() as u64),
            items: IdMap::from_ids(0..by_user.n_cols() as u64),
            levels,
            by_user,
        }
    }

    /// `ratings` in this set's index space.
    pub fn queries(&self, ratings: &[Rating]) -> Vec<Query> {
        locate(&self.users, &self.items, ratings)
    }

    /// Mean of the training ratings (the fallback for unknown items).
    pub fn mean_rating(&self) -> f32 {
        let values = self.levels.values();
        let n = self.by_user.n_entries().max(1);
        let total: f64 = (0..self.by_user.n_rows())
            .flat_map(|u| self.by_user.row(u).1.iter())
            .map(|&l| values[l as usize] as f64)
            .sum();
        (total / n as f64) as f32
    }

    /// Check the invariants (after loading a model file).
    pub fn validate(&self) -> Result<(), String> {
        self.users.validate()?;
        self.items.validate()?;
        self.by_user.validate()?;
        if self.by_user.n_rows() != self.users.len() || self.by_user.n_cols() != self.items.len() {
            return Err("ratings matrix shape disagrees with the id maps".into());
        }
        Ok(())
    }
}

/// `ratings` (file ids) as queries in the index space of `users` and `items`.
pub fn locate(users: &IdMap, items: &IdMap, ratings: &[Rating]) -> Vec<Query> {
    ratings
        .iter()
        .map(|r| Query {
            user: users.index(r.user),
            item: items.index(r.item),
            value: r.value,
        })
        .collect()
}

/// The message for a duplicated (user, item) pair, in file ids.
fn duplicate_message(train: &[Rating], users: &IdMap, items: &IdMap) -> CfError {
    let mut seen: Vec<(u32, u32)> = train
        .iter()
        .map(|r| {
            (
                users.index(r.user).unwrap_or(0),
                items.index(r.item).unwrap_or(0),
            )
        })
        .collect();
    seen.sort_unstable();
    let pair = seen
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| w[0])
        .unwrap_or((0, 0));
    CfError::BadRatings(format!(
        "user {} rates item {} more than once",
        users.id(pair.0),
        items.id(pair.1)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(user: u64, item: u64, value: f32) -> Rating {
        Rating { user, item, value }
    }

    #[test]
    fn indexes_ids_and_levels() {
        let data =
            RatingsData::from_ratings(&[r(10, 7, 4.0), r(3, 7, 0.5), r(10, 2, 4.5)]).unwrap();
        assert_eq!(data.users.index(3), Some(0));
        assert_eq!(data.users.index(10), Some(1));
        assert_eq!(data.users.index(4), None);
        assert_eq!(data.items.id(1), 7);
        assert_eq!(data.levels.values(), &[0.5, 4.0, 4.5]);
        assert_eq!(data.by_user.get(1, 0), Some(2));
        assert!((data.mean_rating() - 3.0).abs() < 1e-6);
        let q = data.queries(&[r(3, 2, 5.0), r(99, 7, 1.0)]);
        assert_eq!(q[0].user, Some(0));
        assert_eq!(q[0].item, Some(0));
        assert_eq!(q[1].user, None);
        assert!(data.validate().is_ok());
    }

    #[test]
    fn rejects_bad_training_sets() {
        let e = RatingsData::from_ratings(&[r(1, 2, 3.0), r(5, 5, 1.0), r(1, 2, 4.0)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("user 1 rates item 2 more than once"), "{e}");
        assert!(RatingsData::from_ratings(&[]).is_err());
        let one_level = RatingsData::from_ratings(&[r(1, 2, 3.0), r(2, 2, 3.0)]).unwrap_err();
        assert!(one_level.to_string().contains("1 distinct"), "{one_level}");
    }
}
