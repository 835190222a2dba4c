//! Loading training and held-out ratings from `--dataset/--fold` or `--ratings/--test`.

use super::SourceArgs;
use crate::Failure;
use ebm_data::data_dir;
use ebm_data::ratings::{self, Rating};

/// Training ratings, held-out ratings (possibly empty) and a description of the source.
pub struct Loaded {
    /// Ratings to train on (or, for eval, the ones the split kept for training).
    pub train: Vec<Rating>,
    /// Held-out ratings.
    pub test: Vec<Rating>,
    /// E.g. `ml-100k u1` or the file name.
    pub description: String,
}

/// Load the ratings `source` names.
pub fn load(source: &SourceArgs) -> Result<Loaded, Failure> {
    if let Some(name) = &source.dataset {
        if name != "ml-100k" {
            return Err(Failure::input(format!(
                "--dataset: '{name}' is not a rating data set (ml-100k; use --ratings FILE for others)"
            )));
        }
        let dir = data_dir::resolve(source.data.as_deref()).join("ml-100k");
        let (base, test) = ratings::movielens_100k_fold_paths(&dir, &source.fold)
            .map_err(|m| Failure::input(format!("--fold: {m}")))?;
        return Ok(Loaded {
            train: ratings::read(&base).map_err(Failure::input)?,
            test: ratings::read(&test).map_err(Failure::input)?,
            description: format!("ml-100k {}", source.fold),
        });
    }
    let Some(path) = &source.ratings else {
        return Err(Failure::input(
            "no ratings: give --dataset ml-100k --fold uN, or --ratings FILE",
        ));
    };
    let all = ratings::read(path).map_err(Failure::input)?;
    let description = path.display().to_string();
    if let Some(test) = &source.test {
        let test = ratings::read(test).map_err(Failure::input)?;
        return Ok(Loaded {
            train: all,
            test,
            description,
        });
    }
    match source.test_fraction {
        Some(f) if !(f > 0.0 && f < 1.0) => Err(Failure::input(format!(
            "--test-fraction must be between 0 and 1 (exclusive), got {f}"
        ))),
        Some(f) => {
            let (train, test) = ratings::split_random(&all, f, source.random.seed);
            if test.is_empty() || train.is_empty() {
                return Err(Failure::input(format!(
                    "--test-fraction {f}: holds out {} of the {} ratings of {description}; each side needs at least one",
                    test.len(),
                    all.len()
                )));
            }
            Ok(Loaded {
                train,
                test,
                description,
            })
        }
        None => Ok(Loaded {
            train: all,
            test: Vec::new(),
            description,
        }),
    }
}
