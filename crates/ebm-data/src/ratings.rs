//! Explicit-feedback rating files: MovieLens 100k (tab), 1M/10M (`::`) and `ratings.csv`.
//!
//! [`read`] sniffs the format from the first line, so one command works on any of them:
//! - `user<TAB>item<TAB>rating<TAB>timestamp` (`u.data`, `uN.base`, `uN.test`);
//! - `user::item::rating::timestamp` (`ratings.dat` of ML-1M and ML-10M);
//! - `userId,movieId,rating,timestamp` with a header line (`ratings.csv`, half stars).
//!
//! The timestamp is optional in every format. A malformed row is an error naming the
//! file, the line number and the line, and so is a (user, item) pair rated twice (before
//! any split: a pair on both sides of a train/test split would leak the test set). Ids are unsigned integers as in every MovieLens
//! release; rating values are any finite numbers (the set of levels comes from the data).

use crate::DataError;
use crate::escape::{escape, quote};
use ebm_kernels::rng;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One rating: `user` gave `item` the value `value`. Ids are the file's own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rating {
    /// The user's id in the file.
    pub user: u64,
    /// The item's id in the file.
    pub item: u64,
    /// The rating value (e.g. 1..5, or 0.5..5 in half stars).
    pub value: f32,
}

/// The layout of a rating file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatingsFormat {
    /// Tab-separated, no header (MovieLens 100k).
    Tab,
    /// `::`-separated, no header (MovieLens 1M, 10M).
    DoubleColon,
    /// Comma-separated, with or without a header line (MovieLens `ratings.csv`).
    Csv,
}

impl RatingsFormat {
    /// Guess the format from the first non-empty line.
    pub fn sniff(first_line: &str) -> Option<Self> {
        if first_line.contains("::") {
            Some(Self::DoubleColon)
        } else if first_line.contains('\t') {
            Some(Self::Tab)
        } else if first_line.contains(',') {
            Some(Self::Csv)
        } else {
            None
        }
    }

    fn separator(self) -> &'static str {
        match self {
            Self::Tab => "\t",
            Self::DoubleColon => "::",
            Self::Csv => ",",
        }
    }

    /// Human name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tab => "tab-separated (MovieLens 100k)",
            Self::DoubleColon => "'::'-separated (MovieLens 1M)",
            Self::Csv => "comma-separated (ratings.csv)",
        }
    }
}

/// Read every rating of the file at `path`, sniffing its format.
pub fn read(path: &Path) -> Result<Vec<Rating>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parse rating-file `text`; `path` is used in messages only.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Rating>, DataError> {
    let malformed = |message: String| DataError::Malformed {
        path: path.to_path_buf(),
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| malformed("no ratings: the file is empty".into()))?;
    let format = RatingsFormat::sniff(first).ok_or_else(|| {
        malformed(format!(
            "line 1: {} is not tab-, '::'- or comma-separated ratings",
            quote(first)
        ))
    })?;
    let separator = format.separator();
    let mut ratings = Vec::with_capacity(text.len() / 20);
    let mut lines = Vec::with_capacity(text.len() / 20);
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let fields: Vec<&str> = line.split(separator).map(str::trim).collect();
        if format == RatingsFormat::Csv && ratings.is_empty() && is_header(&fields) {
            continue;
        }
        if fields.len() < 3 || fields.len() > 4 {
            return Err(malformed(format!(
                "line {number}: expected 3 or 4 {} fields (user, item, rating[, timestamp]), found {}: {}",
                format.name(),
                fields.len(),
                quote(line)
            )));
        }
        let id = |field: &str, what: &str| {
            field.parse::<u64>().map_err(|_| {
                malformed(format!(
                    "line {number}: {what} id {} is not an unsigned integer: {}",
                    quote(field),
                    quote(line)
                ))
            })
        };
        let user = id(fields[0], "user")?;
        let item = id(fields[1], "item")?;
        let value = fields[2]
            .parse::<f32>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                malformed(format!(
                    "line {number}: rating {} is not a finite number: {}",
                    quote(fields[2]),
                    quote(line)
                ))
            })?;
        if let Some(stamp) = fields.get(3)
            && stamp.parse::<i64>().is_err()
        {
            return Err(malformed(format!(
                "line {number}: timestamp {} is not an integer: {}",
                quote(stamp),
                quote(line)
            )));
        }
        ratings.push(Rating { user, item, value });
        lines.push(number);
    }
    if ratings.is_empty() {
        return Err(malformed("no ratings: only a header".into()));
    }
    if let Some((user, item, first, again)) = first_repeated_pair(&ratings, &lines) {
        return Err(malformed(format!(
            "line {again}: user {user} rates item {item} again (first on line {first})"
        )));
    }
    Ok(ratings)
}

/// The (user, item) pair rated twice whose second rating comes first in the file, as
/// `(user, item, line of its first rating, line of its second)`; `lines[i]` is the line
/// of `ratings[i]`.
fn first_repeated_pair(ratings: &[Rating], lines: &[usize]) -> Option<(u64, u64, usize, usize)> {
    let mut keys: Vec<(u64, u64, usize)> = ratings
        .iter()
        .zip(lines)
        .map(|(r, &line)| (r.user, r.item, line))
        .collect();
    keys.sort_unstable();
    keys.windows(2)
        .filter(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        .map(|w| (w[0].0, w[0].1, w[0].2, w[1].2))
        .min_by_key(|&(_, _, _, again)| again)
}

fn is_header(fields: &[&str]) -> bool {
    fields
        .first()
        .is_some_and(|f| f.parse::<u64>().is_err() && f.chars().any(char::is_alphabetic))
}

/// Item titles from a MovieLens item file, by item id: `u.item` (`|`-separated,
/// Latin-1), `movies.dat` (`::`-separated) or `movies.csv` (header, quoted titles).
/// Titles come back escaped by [`escape`] (a binary file cannot print control bytes).
pub fn read_titles(path: &Path) -> Result<HashMap<u64, String>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // The 100k release is Latin-1; later ones are UTF-8.
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    parse_titles(path, &text)
}

/// Parse item-file `text`; `path` is used in messages only.
pub fn parse_titles(path: &Path, text: &str) -> Result<HashMap<u64, String>, DataError> {
    let malformed = |message: String| DataError::Malformed {
        path: path.to_path_buf(),
        message,
    };
    // The separator of the whole file, from its first line: `::`, or whichever of `|`
    // and `,` ends a leading integer id (titles contain commas, genres contain `|`).
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let leading_id = |sep: char| {
        first
            .split(sep)
            .next()
            .is_some_and(|f| f.trim().parse::<u64>().is_ok())
    };
    let separator = if first.contains("::") {
        "::"
    } else if leading_id('|') {
        "|"
    } else {
        ","
    };
    let mut titles = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let fields: Vec<String> = match separator {
            "," => csv_fields(line),
            sep => line.split(sep).map(str::to_string).collect(),
        };
        if fields.len() < 2 {
            return Err(malformed(format!(
                "line {number}: expected an item id and a title: {}",
                quote(line)
            )));
        }
        match fields[0].trim().parse::<u64>() {
            Ok(id) => {
                // Titles are shown on a terminal: control bytes of a binary file are escaped.
                titles.insert(id, escape(fields[1].trim()));
            }
            Err(_) if titles.is_empty() && index == 0 => continue, // a header
            Err(_) => {
                return Err(malformed(format!(
                    "line {number}: item id {} is not an unsigned integer",
                    quote(&fields[0])
                )));
            }
        }
    }
    Ok(titles)
}

/// The fields of one CSV line, with `"..."` quoting and `""` escapes.
fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Stream index of the held-out split (any fixed constant; distinct from training's).
const SPLIT_STREAM: u64 = 0x5911_7e57;

/// Split `ratings` at random into `(train, test)` with `test_fraction` of them in test,
/// reproducibly for a given `seed`. The order within each part is the file's order.
pub fn split_random(
    ratings: &[Rating],
    test_fraction: f64,
    seed: u64,
) -> (Vec<Rating>, Vec<Rating>) {
    let mut generator = rng::stream(seed, 0, SPLIT_STREAM);
    let mut train = Vec::with_capacity(ratings.len());
    let mut test = Vec::with_capacity((ratings.len() as f64 * test_fraction) as usize + 1);
    for r in ratings {
        if rng::uniform_f64(&mut generator) < test_fraction {
            test.push(*r);
        } else {
            train.push(*r);
        }
    }
    (train, test)
}

/// The predefined splits of MovieLens 100k.
pub const MOVIELENS_100K_FOLDS: [&str; 7] = ["u1", "u2", "u3", "u4", "u5", "ua", "ub"];

/// The training and test files of a predefined MovieLens 100k fold (`u1`..`u5`, `ua`,
/// `ub`) under `dir` (the `ml-100k` folder).
pub fn movielens_100k_fold_paths(dir: &Path, fold: &str) -> Result<(PathBuf, PathBuf), String> {
    if !MOVIELENS_100K_FOLDS.contains(&fold) {
        return Err(format!(
            "'{fold}' is not a MovieLens 100k fold (u1, u2, u3, u4, u5, ua, ub)"
        ));
    }
    Ok((
        dir.join(format!("{fold}.base")),
        dir.join(format!("{fold}.test")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Rating>, DataError> {
        parse(Path::new("r.txt"), text)
    }

    #[test]
    fn reads_the_three_formats() {
        let tab = p("1\t2\t5\t874965758\n3\t4\t1\t1\n").unwrap();
        let colons = p("1::2::5::874965758\n3::4::1::1\n").unwrap();
        let csv = p("userId,movieId,rating,timestamp\r\n1,2,5.0,874965758\r\n3,4,1,1\r\n").unwrap();
        assert_eq!(tab, colons);
        assert_eq!(tab, csv);
        assert_eq!(
            tab[0],
            Rating {
                user: 1,
                item: 2,
                value: 5.0
            }
        );
        let half = p("1,2,3.5\n").unwrap();
        assert_eq!(half[0].value, 3.5);
    }

    #[test]
    fn a_pair_rated_twice_is_refused_with_both_lines() {
        let e = p("1\t1\t5\n2\t1\t3\n1\t2\t4\n2\t1\t1\n1\t1\t2\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("r.txt: line 4: user 2 rates item 1 again (first on line 2)"),
            "{e}"
        );
        assert!(p("1,1,5\n1,2,4\n2,1,3\n").is_ok());
    }

    #[test]
    fn malformed_rows_name_line_and_content() {
        let e = p("1\t2\t5\t9\n1\t2\n").unwrap_err().to_string();
        assert!(
            e.contains("r.txt") && e.contains("line 2") && e.contains("found 2"),
            "{e}"
        );
        let e = p("1\t2\tfive\t9\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("'five'"), "{e}");
        let e = p("1\tx\t5\t9\n").unwrap_err().to_string();
        assert!(e.contains("item id 'x'"), "{e}");
        let e = p("1\t2\tNaN\t9\n").unwrap_err().to_string();
        assert!(e.contains("not a finite number"), "{e}");
        let e = p("1\t2\t3\tnoon\n").unwrap_err().to_string();
        assert!(e.contains("timestamp"), "{e}");
        assert!(p("").unwrap_err().to_string().contains("empty"));
        assert!(p("userId,movieId,rating\n").is_err());
        assert!(
            p("just words\n")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        // A header is only allowed on the first line.
        assert!(p("1,2,3\nuserId,movieId,rating\n").is_err());
    }

    #[test]
    fn random_split_is_reproducible_and_near_the_fraction() {
        let ratings: Vec<Rating> = (0..10_000)
            .map(|i| Rating {
                user: i,
                item: i % 7,
                value: 3.0,
            })
            .collect();
        let (train, test) = split_random(&ratings, 0.2, 9);
        assert_eq!(train.len() + test.len(), ratings.len());
        // Binomial(10000, 0.2): sd 40, so 6 sd is 240.
        assert!((test.len() as i64 - 2000).abs() < 240, "{}", test.len());
        assert_eq!(split_random(&ratings, 0.2, 9), (train, test));
    }

    #[test]
    fn titles_from_the_three_item_formats() {
        let item = "1|Toy Story (1995)|01-Jan-1995||http://x|0|1\n2|GoldenEye (1995)|x\n";
        let dat = "1::Toy Story (1995)::Animation|Comedy\n";
        let csv = "movieId,title,genres\n1,\"American President, The (1995)\",Comedy|Drama\n2,\"Say \"\"Hi\"\"\",Drama\n";
        let t = parse_titles(Path::new("u.item"), item).unwrap();
        assert_eq!(t[&2], "GoldenEye (1995)");
        let t = parse_titles(Path::new("movies.dat"), dat).unwrap();
        assert_eq!(t[&1], "Toy Story (1995)");
        let t = parse_titles(Path::new("movies.csv"), csv).unwrap();
        assert_eq!(t[&1], "American President, The (1995)");
        assert_eq!(t[&2], "Say \"Hi\"");
        let e = parse_titles(Path::new("m.csv"), "1,a\nx,b\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    /// The old reader echoed raw bytes, escape sequences included, in its messages, and
    /// returned a binary file's bytes as titles.
    #[test]
    fn file_bytes_in_messages_and_titles_are_escaped() {
        let e = p("1\t2\t\u{1b}[31mred\t9\n").unwrap_err().to_string();
        assert!(!e.chars().any(char::is_control), "{e}");
        assert!(e.contains("\\u{1b}[31mred"), "{e}");
        let t = parse_titles(Path::new("bin.item"), "1|\u{1b}]0;pwned\u{7}|x\n").unwrap();
        assert_eq!(t[&1], "\\u{1b}]0;pwned\\u{7}");
    }

    #[test]
    fn fold_names_are_checked() {
        let (base, test) = movielens_100k_fold_paths(Path::new("d"), "u3").unwrap();
        assert_eq!((base, test), ("d/u3.base".into(), "d/u3.test".into()));
        assert!(movielens_100k_fold_paths(Path::new("d"), "u9").is_err());
    }
}
