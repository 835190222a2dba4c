//! Where exact marginals' upward pass keeps each clique for the downward pass: an f32
//! arena for large cliques, an f64 one for small ones, each allocated once at its total
//! size, and the last clique left in the buffer it was built in.

/// Cliques of at least this many entries are kept in f32; smaller ones, whose memory
/// does not matter, in f64 (so small models' marginals are as exact as their `ln Z`).
pub(crate) const NARROW_MIN: usize = 1 << 12;

/// Where the upward pass keeps a clique for the downward pass.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    /// The last clique (a root) stays in the buffer it was built in.
    Buffer,
    /// In the f32 arena.
    Narrow,
    /// In the f64 arena.
    Wide,
}

/// The kept cliques: two arenas, each allocated once at its total size (zeroed lazily
/// by the system, so each page is first touched by its clique's writes), and each
/// clique's slot.
pub(crate) struct KeptCliques {
    /// The f32 arena.
    pub(crate) narrow: Vec<f32>,
    /// The f64 arena.
    pub(crate) wide: Vec<f64>,
    /// Each clique's slot.
    pub(crate) slots: Vec<Slot>,
}

impl KeptCliques {
    /// The arenas for cliques of `lengths` (entries, in upward order), and each
    /// clique's offset in its arena.
    pub(crate) fn for_lengths(lengths: impl ExactSizeIterator<Item = usize>) -> (Self, Vec<usize>) {
        let n = lengths.len();
        let (mut offsets, mut narrow_len, mut wide_len) = (Vec::with_capacity(n), 0, 0);
        let mut slots = Vec::with_capacity(n);
        for (b, len) in lengths.enumerate() {
            let (slot, offset) = if b + 1 == n {
                (Slot::Buffer, 0)
            } else if len >= NARROW_MIN {
                narrow_len += len;
                (Slot::Narrow, narrow_len - len)
            } else {
                wide_len += len;
                (Slot::Wide, wide_len - len)
            };
            offsets.push(offset);
            slots.push(slot);
        }
        let kept = Self {
            narrow: vec![0.0; narrow_len],
            wide: vec![0.0; wide_len],
            slots,
        };
        (kept, offsets)
    }
}
