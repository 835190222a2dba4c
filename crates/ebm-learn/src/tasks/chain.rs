//! Chain CRFs defined by the user's data: sequences from a CoNLL-style column file
//! ([`ebm_data::conll`]; the feature columns, then the label column last) and feature
//! templates the user names.
//!
//! A feature template is one or more atoms `COLUMN@OFFSET` joined by `|`: the value of
//! column `COLUMN` (counted from 0) of the token `OFFSET` positions away (`0@-1` is column
//! 0 of the previous token; `0` alone is `0@0`), and a conjunction `0@0|1@0` is the pair of
//! values. Beyond the ends of a sequence an atom reads [`BOS`] or [`EOS`]. Each value a
//! template takes on the training file is one entry of the vocabulary, sorted (by bytes),
//! and becomes a unary template `TEMPLATE=VALUE` over the label (one weight per label,
//! feature 1 where the value occurs); a value the training file never showed adds
//! nothing. Every chain also has an `initial` label table on its first position and the
//! label-transition table `transition`, so the templates are
//! `initial, T1=v1, T1=v2, ..., T2=v1, ..., transition`: with the one template `0@0` on
//! the observed symbol, exactly the layout of [`super::hmm::chain_templates`] (its
//! emission table is symbol-major), and the factors of an example are in the order of
//! [`super::hmm::chain_example`] (initial, one unary per position and template,
//! transitions).
//!
//! ```
//! use ebm_data::conll::parse;
//! use ebm_learn::tasks::chain::{ChainSpec, FeatureTemplate};
//! use std::path::Path;
//! let text = "the DT\ndog NN\nbarks VBZ\n\na DT\ncat NN\n";
//! let file = parse(Path::new("pos.conll"), text.to_string()).unwrap();
//! let templates: Vec<FeatureTemplate> = vec!["0@0".parse().unwrap(), "0@-1".parse().unwrap()];
//! let spec = ChainSpec::fit(&file, &templates).unwrap();
//! assert_eq!(spec.labels, ["DT", "NN", "VBZ"]);
//! assert_eq!(spec.vocabulary[1], ["<BOS>", "a", "dog", "the"]);
//! let set = spec.template_set().unwrap();
//! assert_eq!(set.get(1).name, "0@0=a");
//! let data = spec.examples(&set, &file).unwrap();
//! assert_eq!(data.examples[0].labels, [0, 1, 2]);
//! ```

use crate::LearnError;
use crate::data::{Example, Structure};
use crate::templates::TemplateSet;
use ebm_data::conll::{ColumnFile, Sequence};
use ebm_data::escape::quote;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// What an atom reads before the first token of a sequence.
pub const BOS: &str = "<BOS>";
/// What an atom reads after the last token of a sequence.
pub const EOS: &str = "<EOS>";
/// The largest offset (in magnitude) an atom may have.
pub const MAX_OFFSET: i64 = 1000;
/// The most atoms a template may join.
pub const MAX_ATOMS: usize = 16;
/// The most distinct labels a chain (or grid) may have: more is taken for a mistake (a
/// label column that is not the last one, say).
pub const MAX_LABELS: usize = 1024;

/// One atom of a template: the value of `column` at `offset` positions from the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Atom {
    /// The column, counted from 0.
    pub column: usize,
    /// The position relative to the token (`-1`: the previous one).
    pub offset: i64,
}

/// A feature template: a conjunction of [`Atom`]s, written `COLUMN@OFFSET|...` (see the
/// module's documentation). Serialized as that text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FeatureTemplate {
    atoms: Vec<Atom>,
}

impl FeatureTemplate {
    /// The template `column@0`.
    pub fn column(column: usize) -> Self {
        Self {
            atoms: vec![Atom { column, offset: 0 }],
        }
    }

    /// Its atoms, in the order written.
    pub fn atoms(&self) -> &[Atom] {
        &self.atoms
    }

    /// The largest column it reads.
    pub fn max_column(&self) -> usize {
        self.atoms.iter().map(|a| a.column).max().unwrap_or(0)
    }

    /// Write its value at token `t` of `sequence` into `out` (cleared first): the atoms'
    /// fields joined by a space (a field holds no whitespace), [`BOS`] or [`EOS`] beyond
    /// the sequence.
    pub fn write_value(&self, sequence: &Sequence<'_>, t: usize, out: &mut String) {
        out.clear();
        for (k, atom) in self.atoms.iter().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            let at = t as i64 + atom.offset;
            out.push_str(if at < 0 {
                BOS
            } else if at >= sequence.len() as i64 {
                EOS
            } else {
                sequence.field(at as usize, atom.column)
            });
        }
    }
}

impl fmt::Display for FeatureTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, atom) in self.atoms.iter().enumerate() {
            if k > 0 {
                f.write_str("|")?;
            }
            write!(f, "{}@{}", atom.column, atom.offset)?;
        }
        Ok(())
    }
}

impl FromStr for FeatureTemplate {
    type Err = String;

    /// `COLUMN@OFFSET` atoms joined by `|` (`COLUMN` alone is offset 0): `0@0`, `0@-1`,
    /// `0@+1`, `0@-1|0@0`, `1`.
    fn from_str(text: &str) -> Result<Self, String> {
        const SYNTAX: &str = "a template is COLUMN@OFFSET atoms joined by '|', e.g. 0@0, 0@-1, 0@-1|0@0 (columns from 0)";
        let bad = |why: String| Err(format!("template {}: {why}; {SYNTAX}", quote(text)));
        let mut atoms = Vec::new();
        for part in text.split('|') {
            let part = part.trim();
            let (column, offset) = part.split_once('@').unwrap_or((part, "0"));
            let Ok(column) = column.trim().parse::<usize>() else {
                return bad(format!("{} is not a column number", quote(column)));
            };
            let offset = offset.trim();
            let digits = offset.strip_prefix('+').unwrap_or(offset);
            let Some(offset) = digits
                .parse::<i64>()
                .ok()
                .filter(|_| !digits.starts_with('+'))
            else {
                return bad(format!("{} is not an offset", quote(offset)));
            };
            if offset.abs() > MAX_OFFSET {
                return bad(format!("offset {offset} is beyond +-{MAX_OFFSET}"));
            }
            atoms.push(Atom { column, offset });
        }
        if atoms.len() > MAX_ATOMS {
            return bad(format!("{} atoms; at most {MAX_ATOMS}", atoms.len()));
        }
        Ok(Self { atoms })
    }
}

impl TryFrom<String> for FeatureTemplate {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<FeatureTemplate> for String {
    fn from(template: FeatureTemplate) -> Self {
        template.to_string()
    }
}

/// A chain CRF defined by a training file: its feature templates, the number of feature
/// columns, the label names and each template's vocabulary (both sorted by bytes).
/// Everything besides the weights that labels new files again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainSpec {
    /// The feature templates, in the order given.
    pub templates: Vec<FeatureTemplate>,
    /// Columns before the label column.
    pub feature_columns: usize,
    /// The labels of the training file, sorted; a label's index is its position.
    pub labels: Vec<String>,
    /// Per template, the values it takes on the training file, sorted.
    pub vocabulary: Vec<Vec<String>>,
}

/// The examples of a column file, with its true labels when it has them.
#[derive(Clone, Debug)]
pub struct ChainData {
    /// One example a sequence (placeholder labels 0 when the file has no labels, or for
    /// a label the training file never showed).
    pub examples: Vec<Example>,
    /// Per sequence, the true label index of each token (`None`: a label the training
    /// file never showed, which no prediction matches); `None` without a label column.
    pub truth: Option<Vec<Vec<Option<usize>>>>,
}

impl ChainSpec {
    /// The chain `file` defines with `templates` (every feature column at offset 0 when
    /// none is given): its labels (the last column) and the values of each template.
    ///
    /// # Errors
    ///
    /// [`LearnError::Data`] naming the file: fewer than two columns, a template reading a
    /// column that is not a feature column, more than [`MAX_LABELS`] labels.
    pub fn fit(file: &ColumnFile, templates: &[FeatureTemplate]) -> Result<Self, LearnError> {
        let columns = file.columns();
        if columns < 2 {
            return Err(file
                .error(format!(
                    "the token lines have {columns} column; a training file needs feature columns, then the label column"
                ))
                .into());
        }
        let feature_columns = columns - 1;
        let templates: Vec<FeatureTemplate> = if templates.is_empty() {
            (0..feature_columns).map(FeatureTemplate::column).collect()
        } else {
            templates.to_vec()
        };
        check_columns(file, &templates, feature_columns)?;
        let mut labels = BTreeSet::new();
        let mut vocabulary = vec![BTreeSet::new(); templates.len()];
        let mut value = String::new();
        for sequence in file.sequences() {
            for t in 0..sequence.len() {
                labels.insert(sequence.field(t, feature_columns));
                for (template, values) in templates.iter().zip(&mut vocabulary) {
                    template.write_value(&sequence, t, &mut value);
                    if !values.contains(value.as_str()) {
                        values.insert(value.clone());
                    }
                }
            }
        }
        if labels.len() > MAX_LABELS {
            return Err(file
                .error(format!(
                    "{} distinct labels in the last column; at most {MAX_LABELS} (the label must be the last column)",
                    labels.len()
                ))
                .into());
        }
        Ok(Self {
            templates,
            feature_columns,
            labels: labels.into_iter().map(str::to_string).collect(),
            vocabulary: vocabulary
                .into_iter()
                .map(|values| values.into_iter().collect())
                .collect(),
        })
    }

    /// Number of labels.
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// The templates of the chain: `initial`, one unary template `TEMPLATE=VALUE` per
    /// vocabulary entry (templates in order, values sorted), `transition`.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidData`] when the spec has no label, or not one vocabulary per
    /// template.
    pub fn template_set(&self) -> Result<TemplateSet, LearnError> {
        let labels = self.label_count();
        if self.vocabulary.len() != self.templates.len() || labels == 0 {
            return Err(LearnError::InvalidData(format!(
                "a chain of {labels} labels with {} vocabularies for {} templates",
                self.vocabulary.len(),
                self.templates.len()
            )));
        }
        let mut set = TemplateSet::new();
        set.add("initial", &[labels], 1)?;
        for (template, values) in self.templates.iter().zip(&self.vocabulary) {
            for value in values {
                set.add(&format!("{template}={value}"), &[labels], 1)?;
            }
        }
        set.add("transition", &[labels, labels], 1)?;
        Ok(set)
    }

    /// Whether `file` has the label column: `feature_columns + 1` columns (it has), or
    /// `feature_columns` (it has not).
    ///
    /// # Errors
    ///
    /// [`LearnError::Data`] naming the file for another number of columns.
    pub fn has_labels(&self, file: &ColumnFile) -> Result<bool, LearnError> {
        let f = self.feature_columns;
        match file.columns() {
            c if c == f + 1 => Ok(true),
            c if c == f => Ok(false),
            c => Err(file
                .error(format!(
                    "the token lines have {c} columns; the model reads {f} feature column{} (then, optionally, the label)",
                    if f == 1 { "" } else { "s" }
                ))
                .into()),
        }
    }

    /// The examples of `file` under `templates` (from [`ChainSpec::template_set`]): one
    /// a sequence, in file order, with the true labels when the file has the label column.
    ///
    /// # Errors
    ///
    /// As [`ChainSpec::has_labels`]; [`LearnError::InvalidData`] when `templates` are not
    /// this spec's.
    pub fn examples(
        &self,
        templates: &TemplateSet,
        file: &ColumnFile,
    ) -> Result<ChainData, LearnError> {
        let labeled = self.has_labels(file)?;
        if templates.templates().len() != 2 + self.vocabulary.iter().map(Vec::len).sum::<usize>() {
            return Err(LearnError::InvalidData(
                "the templates are not those of the chain".into(),
            ));
        }
        let label_index: HashMap<&str, usize> = self
            .labels
            .iter()
            .enumerate()
            .map(|(k, l)| (l.as_str(), k))
            .collect();
        let mut base = 1;
        let values: Vec<HashMap<&str, usize>> = self
            .vocabulary
            .iter()
            .map(|vocabulary| {
                let map = vocabulary
                    .iter()
                    .enumerate()
                    .map(|(k, v)| (v.as_str(), base + k))
                    .collect();
                base += vocabulary.len();
                map
            })
            .collect();
        let transition = base;
        let k = self.label_count();
        let mut examples = Vec::with_capacity(file.sequence_count());
        let mut truth = Vec::new();
        let mut value = String::new();
        for sequence in file.sequences() {
            let length = sequence.len();
            let mut structure = Structure::new(vec![k; length]);
            let mut features = Vec::new();
            structure.add_factor(templates, 0, &[0])?;
            features.push(1.0);
            for t in 0..length {
                for (template, map) in self.templates.iter().zip(&values) {
                    template.write_value(&sequence, t, &mut value);
                    if let Some(&id) = map.get(value.as_str()) {
                        structure.add_factor(templates, id, &[t])?;
                        features.push(1.0);
                    }
                }
            }
            for t in 1..length {
                structure.add_factor(templates, transition, &[t - 1, t])?;
                features.push(1.0);
            }
            let known: Vec<Option<usize>> = (0..length)
                .map(|t| {
                    labeled
                        .then(|| label_index.get(sequence.field(t, self.feature_columns)))
                        .flatten()
                        .copied()
                })
                .collect();
            let labels = known.iter().map(|l| l.unwrap_or(0)).collect();
            examples.push(Example::new(Arc::new(structure), features, labels)?);
            if labeled {
                truth.push(known);
            }
        }
        Ok(ChainData {
            examples,
            truth: labeled.then_some(truth),
        })
    }
}

/// Refuse templates that read a column beyond the `feature_columns` of `file`.
fn check_columns(
    file: &ColumnFile,
    templates: &[FeatureTemplate],
    feature_columns: usize,
) -> Result<(), LearnError> {
    match templates.iter().find(|t| t.max_column() >= feature_columns) {
        None => Ok(()),
        Some(template) => Err(file
            .error(format!(
                "template {template} reads column {}, but the token lines have {feature_columns} feature column{} (0 to {}; column {feature_columns}, the last, is the label)",
                template.max_column(),
                if feature_columns == 1 { "" } else { "s" },
                feature_columns - 1
            ))
            .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::energy::add_joint_features;
    use crate::tasks::hmm::{Hmm, Split, chain_templates, hmm_conll, hmm_task};
    use crate::train::{Learner, TrainConfig, train};
    use ebm_data::conll::parse;
    use std::path::Path;

    fn file(text: &str) -> ColumnFile {
        parse(Path::new("t.conll"), text.to_string()).unwrap()
    }

    #[test]
    fn templates_parse_and_print_canonically() {
        let t: FeatureTemplate = " 0@-1 | 2@+1|1".parse().unwrap();
        assert_eq!(
            t.atoms(),
            [
                Atom {
                    column: 0,
                    offset: -1
                },
                Atom {
                    column: 2,
                    offset: 1
                },
                Atom {
                    column: 1,
                    offset: 0
                }
            ]
        );
        assert_eq!(t.to_string(), "0@-1|2@1|1@0");
        assert_eq!(t.to_string().parse::<FeatureTemplate>().unwrap(), t);
        for bad in ["", "w[0]", "0@", "0@x", "-1@0", "0@++1", "0@5000", "0|"] {
            let e = bad.parse::<FeatureTemplate>().unwrap_err();
            assert!(
                e.starts_with("template '") && e.contains("COLUMN@OFFSET"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn values_read_neighbours_and_the_ends_of_the_sequence() {
        let f = file("a X\nb Y\nc X\n");
        let s = f.sequence(0);
        let t: FeatureTemplate = "0@-1|0@0|0@2".parse().unwrap();
        let mut out = String::new();
        t.write_value(&s, 0, &mut out);
        assert_eq!(out, "<BOS> a c");
        t.write_value(&s, 2, &mut out);
        assert_eq!(out, "b c <EOS>");
    }

    #[test]
    fn unseen_values_add_nothing_and_unseen_labels_are_none() {
        let train = file("the DT\ndog NN\n\na DT\n");
        let spec = ChainSpec::fit(&train, &[]).unwrap();
        assert_eq!(spec.templates, [FeatureTemplate::column(0)]);
        let set = spec.template_set().unwrap();
        assert_eq!(set.templates().len(), 1 + 3 + 1);
        let test = file("the DT\nbird NN\nsings VBZ\n");
        let data = spec.examples(&set, &test).unwrap();
        // initial, "the" (known), "bird" and "sings" (unknown: no factor), 2 transitions.
        assert_eq!(data.examples[0].structure.slots().len(), 1 + 1 + 2);
        assert_eq!(data.truth.unwrap()[0], [Some(0), Some(1), None]);
        // Without the label column: no truth; another number of columns is refused.
        let unlabeled = spec.examples(&set, &file("the\ncat\n")).unwrap();
        assert!(unlabeled.truth.is_none());
        let e = spec
            .examples(&set, &file("a b c\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.conll: the token lines have 3 columns"),
            "{e}"
        );
        let e = ChainSpec::fit(&train, &["1@0".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.conll: template 1@0 reads column 1"), "{e}");
        let e = ChainSpec::fit(&file("a\nb\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs feature columns, then the label"), "{e}");
    }

    /// The HMM task written as a column file gives the built-in chain's templates (up to
    /// their names), and every example the same joint features.
    #[test]
    fn the_hmm_as_a_column_file_is_the_built_in_chain() {
        let hmm = Hmm::sticky();
        let task = hmm_task(&hmm, 30, 0, 12, 4).unwrap();
        let text = hmm_conll(&hmm, 30, 12, 4, Split::Train).unwrap();
        let f = file(&text);
        let spec = ChainSpec::fit(&f, &[]).unwrap();
        assert_eq!(spec.labels, ["s0", "s1", "s2"]);
        assert_eq!(spec.vocabulary, [["x0", "x1", "x2", "x3"]]);
        let set = spec.template_set().unwrap();
        assert_eq!(
            set.weight_count(),
            chain_templates(3, 4).unwrap().weight_count()
        );
        let data = spec.examples(&set, &f).unwrap();
        for (mine, theirs) in data.examples.iter().zip(&task.train) {
            assert_eq!(mine.labels, theirs.labels);
            let (mut a, mut b) = (vec![0.0; 24], vec![0.0; 24]);
            add_joint_features(&set, mine, &mine.labels, 1.0, &mut a);
            add_joint_features(&task.templates, theirs, &theirs.labels, 1.0, &mut b);
            assert_eq!(a, b);
            let scopes = |e: &Example| -> Vec<Vec<usize>> {
                let s = &e.structure;
                s.slots()
                    .iter()
                    .map(|slot| s.scope(slot).to_vec())
                    .collect()
            };
            assert_eq!(scopes(mine), scopes(theirs));
        }
        // So every learner gives bit-identical weights on the two.
        for learner in [
            Learner::MaximumLikelihood,
            Learner::PseudoLikelihood,
            Learner::SsvmFrankWolfe,
            Learner::Perceptron { averaged: true },
            Learner::ContrastiveDivergence { steps: 1 },
        ] {
            let config = TrainConfig {
                epochs: 3,
                batch: 4,
                ..task.shape.train_config(learner)
            };
            let theirs = task.train(&config, |_| {}).unwrap().weights;
            let mine = train(&set, &data.examples, &config, |_| {})
                .unwrap()
                .weights;
            assert_eq!(mine, theirs, "{learner:?}");
        }
    }
}
