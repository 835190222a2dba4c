//! ebm
