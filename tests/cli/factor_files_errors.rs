//! Issue 18, item 4 for `ebm factor learn --train FILE`: malformed column files and
//! `.npy` arrays, and flags that do not fit the data, are one-line errors naming the
//! file, exit code 2.

use crate::common::{ebm, failure_line, file_in, p, temp_dir};
use ebm::data::npy;
use std::path::PathBuf;

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
    // Column files malformed in themselves, with no further flags.
    let columns: [(&str, &[u8], &str); 5] = [
        (
            "ragged.conll",
            b"the DT\ndog NN x\n",
            "ragged.conll: line 2: 3 columns, but line 1",
        ),
        (
            "empty.conll",
            b"",
            "empty.conll: no sequences: the file is empty",
        ),
        (
            "blank.conll",
            b"\n\n# just a comment\n",
            "blank.conll: no sequences",
        ),
        (
            "words.conll",
            b"the\ndog\n",
            "words.conll: the token lines have 1 column; a training file needs feature columns, then the label",
        ),
        (
            "bin.conll",
            b"the DT\n\xff\xfe NN\n",
            "bin.conll: not UTF-8 text",
        ),
    ];
    let mut cases: Vec<(PathBuf, Vec<String>, &str)> = columns
        .into_iter()
        .map(|(name, contents, says)| (file_in(&dir, name, contents), vec![], says))
        .collect();
    cases.extend([
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
    ]);
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
