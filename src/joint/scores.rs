//! The joint model's scores for `ebm ood`.
