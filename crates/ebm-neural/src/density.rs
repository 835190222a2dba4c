//! 2-D test densities and quadrature.
