//! NumPy `.npy` files (format versions 1, 2 and 3), read and written without NumPy.
//!
//! A file is the magic `\x93NUMPY`, a version, a header (a Python dict literal giving
//! `descr`, `fortran_order` and `shape`) and the values. [`read`] takes booleans,
//! unsigned and signed integers of 1 to 8 bytes, `f32` and `f64`, either byte order, C
//! or Fortran order (Fortran arrays are transposed to row-major), and makes rows of
//! them (see [`read`] for the shapes). Other dtypes (`f2`, complex, strings, objects,
//! dates, structured records) are refused with a message naming the dtype.
//!
//! The header is parsed here rather than by a crate, so that the declared shape is
//! checked against the bytes the file holds before anything is allocated: a 100-byte
//! file declaring shape `(1000000000000,)` is refused, not obeyed.

mod decode;
mod encode;
mod header;

pub use decode::{
    Array, MAX_INTEGER, parse, parse_array, parse_integer_array, parse_labels, read, read_array,
    read_integer_array, read_labels,
};
pub use encode::{encode_f32, encode_i64, encode_labels, write};
pub use header::{Dtype, Header, parse_header};

/// The six bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

#[cfg(test)]
mod tests;
