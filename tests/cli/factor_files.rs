//! Issue 18, item 3: `ebm factor learn --train FILE` on the user's files (CoNLL-style
//! column files with feature templates; npy-grid arrays) and `ebm factor predict MODEL
//! --input FILE --out FILE`: the built-in HMM chain (and, with `$EBM_DATA`, the denoising
//! grid) exported to files learns the same weights as the built-in task; a column file
//! written by hand trains and is labeled; malformed files are one-line errors naming the
//! file, exit code 2.

use crate::common::{data_root, ebm, ebm_json, failure_line, file_in, p, temp_dir};
use ebm::data::npy;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A file of `tests/data/`.
fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

/// The text of the JSON export at `path` from its `"weights"` key to its end: the
/// weight vector exactly as written (each number in its shortest round-trip form, so
/// equal texts are bit-equal weights and different weights give different texts).
fn weights_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find("\"weights\":").expect("a weights key");
    text[at..].to_string()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Issue 18, item 3 (first half). `ebm factor export --task hmm` writes the built-in HMM
/// task's sequences (same flags, same seed) as column files; `factor learn --train` on
/// them gives exactly the built-in task's weights, for several learners.
///
/// What is compared: the `weights` arrays of the two `--export-json` files, as text (so
/// bit for bit). They are the same vector because the file-defined chain lays its
/// templates out as the built-in one: the built-in `initial` (3 weights), `emission` (one
/// feature per symbol: 4 x 3 weights, symbol-major) and `transition` (3 x 3); the
/// file-defined `initial`, then one template per vocabulary entry of `0@0` in sorted
/// order (`x0`..`x3`, 3 weights each: the same 12 weights in the same order) and
/// `transition`. The template names differ (`emission` vs `0@0=x0`...), so they are
/// checked separately. The test metrics agree too: Viterbi accuracy is token accuracy.
#[test]
fn the_hmm_task_as_column_files_learns_the_built_in_weights() {
    let dir = temp_dir("files_hmm");
    let data = [
        "--train", "200", "--test", "100", "--length", "20", "--seed", "3",
    ];
    let exported = ebm_json(
        &[
            &["factor", "export", "--task", "hmm", "--out", p(&dir)][..],
            &data,
            &["--json"],
        ]
        .concat(),
    );
    assert_eq!(exported["train_examples"], 200);
    let (train, test) = (dir.join("train.conll"), dir.join("test.conll"));
    let text = std::fs::read_to_string(&train).unwrap();
    assert_eq!(text.lines().filter(|l| l.is_empty()).count(), 200);
    assert_eq!(text.lines().next().unwrap().split('\t').count(), 2);
    for (method, extra) in [
        ("ml", &[][..]),
        ("bcfw", &["--lambda", "0.1"][..]),
        ("averaged-perceptron", &[][..]),
        ("pl", &["--batch", "7"][..]),
        ("ssvm", &["--pretrain-epochs", "2"][..]),
    ] {
        let common = [
            &["--method", method, "--epochs", "4"][..],
            extra,
            &["--json", "--quiet"],
        ]
        .concat();
        let (builtin_json, file_json) = (dir.join("builtin.json"), dir.join("file.json"));
        let builtin = ebm_json(
            &[
                &["factor", "learn", "--task", "hmm"][..],
                &data,
                &common,
                &["--export-json", p(&builtin_json)],
            ]
            .concat(),
        );
        let files = ebm_json(
            &[
                &["factor", "learn", "--train", p(&train), "--test", p(&test)][..],
                &["--seed", "3", "--export-json", p(&file_json)],
                &common,
            ]
            .concat(),
        );
        assert_eq!(
            weights_text(&file_json),
            weights_text(&builtin_json),
            "{method}"
        );
        assert_eq!(files["objective"], builtin["objective"], "{method}");
        // The same predictions; the two compute the fraction differently (right / all
        // against 1 - wrong / all), so equal up to rounding.
        let (token, viterbi) = (&files["test_token_accuracy"], &builtin["viterbi_accuracy"]);
        assert!(
            (token.as_f64().unwrap() - viterbi.as_f64().unwrap()).abs() < 1e-12,
            "{method}: {token} {viterbi}"
        );
        let (a, b) = (json_file(&builtin_json), json_file(&file_json));
        let names: Vec<&str> = b["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "initial",
                "0@0=x0",
                "0@0=x1",
                "0@0=x2",
                "0@0=x3",
                "transition"
            ]
        );
        assert_eq!(a["templates"][1]["feature_dim"], 4);
        assert_eq!(b["labels"], serde_json::json!(["s0", "s1", "s2"]));
        assert_eq!(
            (a["task"].as_str(), b["data_format"].as_str()),
            (Some("hmm"), Some("conll"))
        );
    }
}

/// Issue 18, item 3 (second half): `tests/data/pos_train.conll`, ten sentences tagged by
/// hand, trains a chain CRF with a word and a previous-word template; the model labels
/// `pos_test.conll` (four new sentences) with and without its label column.
#[test]
fn a_hand_written_column_file_trains_and_labels_new_sentences() {
    let dir = temp_dir("files_pos");
    let (train, test) = (test_data("pos_train.conll"), test_data("pos_test.conll"));
    let model = dir.join("pos.ebm");
    let templates = ["--template", "0@0", "--template", "0@-1"];
    let learned = ebm_json(
        &[
            &["factor", "learn", "--train", p(&train), "--test", p(&test)][..],
            &templates,
            &[
                "--method",
                "bcfw",
                "--epochs",
                "30",
                "--out",
                p(&model),
                "--json",
                "--quiet",
            ],
        ]
        .concat(),
    );
    assert_eq!(learned["format"], "conll");
    assert_eq!(
        learned["labels"], 12,
        "DT NN VBZ . JJ IN NNS VBP PRP VBD TO RB"
    );
    assert_eq!(
        (
            learned["train_examples"].as_u64(),
            learned["test_tokens"].as_u64()
        ),
        (Some(10), Some(25))
    );
    // "two" is tagged CD, a tag the training file never shows: always wrong, and counted.
    assert_eq!(learned["test_unknown_labels"], 1);
    let accuracy = learned["test_token_accuracy"].as_f64().unwrap();
    // 23 of 25 measured: only CD and the unseen plural "birds" wrong.
    assert!(accuracy >= 0.84, "{accuracy}");
    // Labeled input: the same accuracy, and each token line gets the prediction appended.
    let out = dir.join("tagged.conll");
    let predicted = ebm_json(&[
        "factor",
        "predict",
        p(&model),
        "--input",
        p(&test),
        "--out",
        p(&out),
        "--json",
    ]);
    assert_eq!(predicted["token_accuracy"], learned["test_token_accuracy"]);
    let input = std::fs::read_to_string(&test).unwrap();
    let tagged = std::fs::read_to_string(&out).unwrap();
    assert_eq!(tagged.lines().count(), input.lines().count());
    let mut right = 0;
    for (before, after) in input.lines().zip(tagged.lines()) {
        if before.is_empty() || before.starts_with('#') {
            assert_eq!(before, after, "blank lines and comments are kept");
            continue;
        }
        let (kept, label) = after.rsplit_once('\t').unwrap();
        assert_eq!(kept, before);
        right += usize::from(before.ends_with(&format!("\t{label}")));
    }
    assert_eq!(right as f64 / 25.0, accuracy);
    // Unlabeled input (the words only): the same predictions, no accuracy.
    let words: String = input
        .lines()
        .map(|l| format!("{}\n", l.split('\t').next().unwrap()))
        .collect();
    let words = file_in(&dir, "words.conll", words);
    let out2 = dir.join("tagged2.conll");
    let unlabeled = ebm_json(&[
        "factor",
        "predict",
        p(&model),
        "--input",
        p(&words),
        "--out",
        p(&out2),
        "--json",
    ]);
    assert!(unlabeled.get("token_accuracy").is_none());
    let labels = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split_whitespace().last().unwrap().to_string())
            .collect()
    };
    assert_eq!(labels(&out2), labels(&out));
    // An unlabeled file with no --out has nothing to do.
    let line = failure_line(&ebm(&[
        "factor",
        "predict",
        p(&model),
        "--input",
        p(&words),
    ]));
    assert!(
        line.contains("words.conll") && line.contains("--out"),
        "{line}"
    );
}

/// A grid of 3 labels from arrays written here: each pixel's feature is its label plus
/// noise; the unary features carry the label, the pairwise tables smooth. Learned with
/// the multi-label decoder (max-product BP), saved, and used to label one image
/// (`[height, width, n_features]`) into a `.npy` of label values.
#[test]
fn npy_grid_arrays_train_and_label_an_image() {
    let dir = temp_dir("files_grid");
    let (n, h, w) = (6usize, 5usize, 6usize);
    // Labels 10, 20, 30: vertical stripes of two columns; feature: one-hot of the label
    // (three features), the first one flipped on some pixels.
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        for r in 0..h {
            for c in 0..w {
                let k = (c / 2 + i) % 3;
                labels.push(10 * (k as i64 + 1));
                let noisy = (i * 7 + r * 3 + c) % 5 == 0;
                features.extend((0..3).map(|j| f32::from(u8::from((j == k) != (noisy && j == 0)))));
            }
        }
    }
    let x = file_in(&dir, "x.npy", npy::encode_f32(&[n, h, w, 3], &features));
    let y = file_in(&dir, "y.npy", npy::encode_i64(&[n, h, w], &labels));
    let model = dir.join("grid.ebm");
    let learned = ebm_json(&[
        "factor",
        "learn",
        "--train",
        p(&x),
        "--labels",
        p(&y),
        "--test",
        p(&x),
        "--test-labels",
        p(&y),
        "--method",
        "ssvm",
        "--lr",
        "0.1",
        "--epochs",
        "20",
        "--out",
        p(&model),
        "--json",
        "--quiet",
    ]);
    assert_eq!(
        (learned["format"].as_str(), learned["labels"].as_u64()),
        (Some("npy-grid"), Some(3))
    );
    assert_eq!(learned["test_pixels"], (n * h * w) as u64);
    let accuracy = learned["test_pixel_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9, "{accuracy}");
    // One image, [h, w, 3]: the prediction is [h, w] of label values.
    let one = file_in(
        &dir,
        "one.npy",
        npy::encode_f32(&[h, w, 3], &features[..h * w * 3]),
    );
    let out = dir.join("pred.npy");
    let predicted = ebm_json(&[
        "factor",
        "predict",
        p(&model),
        "--input",
        p(&one),
        "--out",
        p(&out),
        "--json",
    ]);
    assert!(predicted.get("pixel_accuracy").is_none());
    let array = npy::read_integer_array(&out).unwrap();
    assert_eq!(array.shape, [h, w]);
    let right = array
        .values
        .iter()
        .zip(&labels)
        .filter(|(a, b)| a == b)
        .count();
    assert!(right as f64 >= 0.9 * (h * w) as f64, "{right}");
    // With labels given, predict reports accuracy; labels of another shape are refused.
    let y1 = file_in(&dir, "y1.npy", npy::encode_i64(&[h, w], &labels[..h * w]));
    let scored = ebm_json(&[
        "factor",
        "predict",
        p(&model),
        "--input",
        p(&one),
        "--labels",
        p(&y1),
        "--json",
    ]);
    assert_eq!(
        scored["pixel_accuracy"].as_f64().unwrap(),
        right as f64 / (h * w) as f64
    );
    let line = failure_line(&ebm(&[
        "factor",
        "predict",
        p(&model),
        "--input",
        p(&one),
        "--labels",
        p(&y),
    ]));
    assert!(
        line.contains("y.npy") && line.contains("do not match"),
        "{line}"
    );
}

/// With MNIST: the denoising task exported as npy-grid arrays learns exactly the built-in
/// task's weights (the same templates `unary`, `horizontal`, `vertical`: compared as the
/// export's text from `"weights"` on, which holds the weight vector).
#[test]
fn the_denoising_task_as_arrays_learns_the_built_in_weights() {
    let Some(root) = data_root("mnist") else {
        return;
    };
    let dir = temp_dir("files_denoise");
    let data = [
        "--train",
        "40",
        "--test",
        "20",
        "--seed",
        "2",
        "--data",
        p(&root),
    ];
    ebm_json(
        &[
            &["factor", "export", "--task", "denoise", "--out", p(&dir)][..],
            &data,
            &["--json"],
        ]
        .concat(),
    );
    let common = ["--method", "bcfw", "--epochs", "2", "--json", "--quiet"];
    let (builtin_json, file_json) = (dir.join("builtin.json"), dir.join("file.json"));
    let builtin = ebm_json(
        &[
            &["factor", "learn", "--task", "denoise"][..],
            &data,
            &common,
            &["--export-json", p(&builtin_json)],
        ]
        .concat(),
    );
    let f = |name: &str| dir.join(name);
    let files = ebm_json(
        &[
            &[
                "factor",
                "learn",
                "--train",
                p(&f("train-features.npy")),
                "--labels",
                p(&f("train-labels.npy")),
            ][..],
            &[
                "--test",
                p(&f("test-features.npy")),
                "--test-labels",
                p(&f("test-labels.npy")),
            ],
            &["--seed", "2", "--export-json", p(&file_json)],
            &common,
        ]
        .concat(),
    );
    assert_eq!(weights_text(&file_json), weights_text(&builtin_json));
    assert_eq!(
        json_file(&file_json)["templates"],
        json_file(&builtin_json)["templates"]
    );
    assert_eq!(files["test_pixel_error"], builtin["test_pixel_error"]);
}

/// Issue 18, item 4 for these formats: malformed column files and arrays are one-line
/// errors naming the file, exit code 2; so are flags that do not fit the data.
#[test]
fn malformed_column_files_and_arrays_are_one_line_errors_naming_the_file() {
    let dir = temp_dir("files_bad");
    let good = file_in(&dir, "good.conll", "the DT\ndog NN\n\na DT\n");
    let x = file_in(&dir, "x.npy", npy::encode_f32(&[2, 3, 4, 1], &[0.5; 24]));
    let y = file_in(&dir, "y.npy", npy::encode_i64(&[2, 3, 4], &[1; 24]));
    let huge = {
        let dict =
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 28, 28, 1), }";
        let mut bytes = npy::MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        bytes.extend_from_slice(&[0; 16]);
        bytes
    };
    let cut = npy::encode_f32(&[2, 3, 4, 1], &[0.5; 24]);
    let cases: Vec<(PathBuf, Vec<String>, &str)> = vec![
        (
            file_in(&dir, "ragged.conll", "the DT\ndog NN x\n"),
            vec![],
            "ragged.conll: line 2: 3 columns, but line 1",
        ),
        (
            file_in(&dir, "empty.conll", ""),
            vec![],
            "empty.conll: no sequences: the file is empty",
        ),
        (
            file_in(&dir, "blank.conll", "\n\n# just a comment\n"),
            vec![],
            "blank.conll: no sequences",
        ),
        (
            file_in(&dir, "words.conll", "the\ndog\n"),
            vec![],
            "words.conll: the token lines have 1 column; a training file needs feature columns, then the label",
        ),
        (
            file_in(&dir, "bin.conll", b"the DT\n\xff\xfe NN\n"),
            vec![],
            "bin.conll: not UTF-8 text",
        ),
        (
            good.clone(),
            vec!["--template".into(), "3@0".into()],
            "good.conll: template 3@0 reads column 3",
        ),
        (dir.join("missing.conll: "), vec![], "missing.conll: "),
        (
            x.clone(),
            vec![
                "--labels".into(),
                p(&file_in(
                    &dir,
                    "short.npy",
                    npy::encode_i64(&[2, 3, 3], &[1; 18]),
                ))
                .into(),
            ],
            "short.npy: labels of shape [2, 3, 3] do not match",
        ),
        (
            x.clone(),
            vec![
                "--labels".into(),
                p(&file_in(
                    &dir,
                    "float.npy",
                    npy::encode_f32(&[2, 3, 4], &[1.0; 24]),
                ))
                .into(),
            ],
            "float.npy: dtype f4 is a float type",
        ),
        (
            file_in(&dir, "huge.npy", huge),
            vec!["--labels".into(), p(&y).into()],
            "huge.npy: the shape [1000000000000, 28, 28, 1]",
        ),
        (
            file_in(&dir, "cut.npy", &cut[..cut.len() - 5]),
            vec!["--labels".into(), p(&y).into()],
            "cut.npy: the shape [2, 3, 4, 1] of 4-byte values needs 96 bytes",
        ),
        (
            file_in(&dir, "flat.npy", npy::encode_f32(&[24], &[0.5; 24])),
            vec!["--labels".into(), p(&y).into()],
            "flat.npy: per-pixel features must have shape",
        ),
    ];
    for (train, extra, says) in &cases {
        let mut args = vec![
            "factor",
            "learn",
            "--train",
            p(train),
            "--method",
            "bcfw",
            "--epochs",
            "1",
        ];
        args.extend(extra.iter().map(String::as_str));
        let line = failure_line(&ebm(&args));
        // Each message names the file at fault (the features or the labels).
        assert!(line.contains(says), "{}: {line}", train.display());
    }
    // A test file of another width, or without labels, is named too.
    for (test, says) in [
        (
            file_in(&dir, "wide.conll", "the DT x\n"),
            "wide.conll: the token lines have 3 columns",
        ),
        (file_in(&dir, "nolabels.conll", "the\n"), "--test "),
        (
            file_in(&dir, "ragged-test.conll", "the DT\ndog\n"),
            "ragged-test.conll: line 2",
        ),
    ] {
        let args = [
            "factor",
            "learn",
            "--train",
            p(&good),
            "--test",
            p(&test),
            "--method",
            "ml",
            "--epochs",
            "1",
        ];
        let line = failure_line(&ebm(&args));
        assert!(
            line.contains(says) && line.contains(test.file_name().unwrap().to_str().unwrap()),
            "{line}"
        );
    }
    // Flags that do not fit: a template on arrays, labels on a column file, grid labels
    // missing, a file with --task, a count without it, neither, a bad template.
    for (args, says) in [
        (
            vec!["--train", p(&x), "--labels", p(&y), "--template", "0@0"],
            "--template applies to --format conll",
        ),
        (
            vec!["--train", p(&good), "--labels", p(&y)],
            "--labels applies to --format npy-grid",
        ),
        (vec!["--train", p(&x)], "--labels is needed"),
        (
            vec!["--task", "hmm", "--train", p(&good)],
            "with a built-in task, --train is a number",
        ),
        (
            vec!["--task", "hmm", "--template", "0@0"],
            "--template applies to your own data",
        ),
        (
            vec!["--train", "300"],
            "--train 300 is a number of examples",
        ),
        (vec![], "give --task NAME"),
        (
            vec!["--train", p(&good), "--template", "w[0]"],
            "template 'w[0]'",
        ),
        (
            vec!["--train", p(&good), "--length", "5"],
            "--length applies to the built-in tasks",
        ),
        (
            vec!["--train", p(&good), "--test", "5"],
            "--test 5 is a number of examples",
        ),
    ] {
        let all = [
            &["factor", "learn", "--method", "ml", "--epochs", "1"][..],
            &args,
        ]
        .concat();
        let line = failure_line(&ebm(&all));
        assert!(line.contains(says), "{args:?}: {line}");
    }
}
