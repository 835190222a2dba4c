//! `ebm rbm anomaly`.

use super::{AnomalyArgs, AnomalyScoreArg, load_model};
use crate::Failure;
use crate::output::Metrics;
use crate::setup::{check_features, check_labels, without_labels};
use ebm_data::mnist::Split;
use ebm_rbm::anomaly::{
    Score, detection, roc_auc, roc_curve, scores, threshold_at_false_positive_rate,
};
use ebm_rbm::metrics::base_rate_visible_bias;

/// Run `ebm rbm anomaly`: the test set's even rows choose the threshold (on their normal
/// examples), the odd rows measure it; the AUC is reported on all rows and on the odd
/// rows alone.
pub fn run(args: AnomalyArgs) -> Result<(), Failure> {
    args.measure.run.check()?;
    if !(args.false_positive_rate > 0.0 && args.false_positive_rate < 1.0) {
        return Err(Failure::input(
            "--false-positive-rate must be between 0 and 1 (exclusive)",
        ));
    }
    let model = load_model(&args.model)?;
    let test = args.data.load(Split::Test)?;
    check_features(&args.model, model.n_visible(), &test)?;
    let labels = check_labels(&test, "--anomalous-labels", &args.anomalous_labels)?.to_vec();
    let score = match args.score {
        AnomalyScoreArg::FreeEnergy => Score::FreeEnergy,
        AnomalyScoreArg::Reconstruction => Score::Reconstruction,
        AnomalyScoreArg::LikelihoodRatio => {
            let train = args.data.load(Split::Train)?;
            check_features(&args.model, model.n_visible(), &train)?;
            let normal_train = match (&args.base_exclude_labels, &train.labels) {
                (Some(labels), _) => without_labels(&train, "--base-exclude-labels", labels)?,
                // Unlabeled training data is the normal data the model was trained on.
                (None, None) => train,
                (None, Some(_)) => {
                    without_labels(&train, "--anomalous-labels", &args.anomalous_labels)?
                }
            };
            Score::LikelihoodRatio {
                base_logits: base_rate_visible_bias(&normal_train),
            }
        }
    };
    let scores = args.measure.run.install(|| scores(&model, &test, &score))?;
    let is_anomalous = |i: usize| args.anomalous_labels.contains(&labels[i]);
    let split = |rows: &mut dyn Iterator<Item = usize>| {
        let (mut normal, mut anomalous) = (Vec::new(), Vec::new());
        for i in rows {
            if is_anomalous(i) {
                anomalous.push(scores[i]);
            } else {
                normal.push(scores[i]);
            }
        }
        (normal, anomalous)
    };
    // Even rows choose the threshold, odd rows measure it (MNIST's test set is ordered
    // by writer group, so halves by position would differ in style).
    let (validation_normal, _) = split(&mut (0..test.n_examples).step_by(2));
    let (normal, anomalous) = split(&mut (1..test.n_examples).step_by(2));
    let (all_normal, all_anomalous) = split(&mut (0..test.n_examples));
    if all_anomalous.is_empty() || validation_normal.is_empty() || normal.is_empty() {
        return Err(Failure::input(
            "--anomalous-labels: the test set needs anomalous and normal examples among both even and odd rows",
        ));
    }
    let threshold = threshold_at_false_positive_rate(&validation_normal, args.false_positive_rate);
    let d = detection(&normal, &anomalous, threshold);
    let auc = roc_auc(&all_normal, &all_anomalous);
    let mut m = Metrics::default();
    m.number("roc_auc", auc)
        .number("roc_auc_odd_rows", roc_auc(&normal, &anomalous))
        .number("threshold", threshold)
        .number("true_positive_rate", d.true_positive_rate)
        .number("false_positive_rate", d.false_positive_rate)
        .integer("n_normal", all_normal.len() as u64)
        .integer("n_anomalous", all_anomalous.len() as u64)
        .number(
            "mean_score_normal",
            all_normal.iter().sum::<f64>() / all_normal.len() as f64,
        )
        .number(
            "mean_score_anomalous",
            all_anomalous.iter().sum::<f64>() / all_anomalous.len() as f64,
        );
    let score_name = match args.score {
        AnomalyScoreArg::LikelihoodRatio => "likelihood-ratio",
        AnomalyScoreArg::FreeEnergy => "free-energy",
        AnomalyScoreArg::Reconstruction => "reconstruction",
    };
    m.text("score", score_name);
    let labels: Vec<String> = args.anomalous_labels.iter().map(u8::to_string).collect();
    let title = format!(
        "ROC: labels {} against the rest ({} test examples)",
        labels.join(", "),
        test.n_examples
    );
    let chart = ebm_plot::roc_chart(
        &title,
        &format!("{score_name} score"),
        &roc_curve(&all_normal, &all_anomalous),
        auc,
        Some((d.false_positive_rate, d.true_positive_rate)),
    );
    let layout = ebm_plot::Layout {
        columns: 1,
        panel_width: 700,
        panel_height: 640,
    };
    crate::run_log::draw(args.plot.as_deref(), "roc", &[chart], layout, &mut m)?;
    args.measure.output.print(&m);
    Ok(())
}
