//! The replay buffer of persistent Langevin chains (Du & Mordatch 2019): each batch draws
//! its chains from random slots of the buffer, restarting a share of them from noise, and
//! writes them back after their Langevin steps. Contrastive divergence with persistent
//! chains and the joint energy model's negatives share it.

use ebm_kernels::rng::{self, StreamRng};

/// Fill the `negatives.len() / d` rows of `negatives` from random chains of `buffer`
/// (`chains x d`), recording their slots in `slots`; each row is instead restarted by
/// `restart(row, rng)` with probability `reinit_fraction`. Per row the draws are: the
/// slot, then the restart coin, then whatever `restart` draws.
pub fn draw(
    buffer: &[f32],
    d: usize,
    negatives: &mut [f32],
    slots: &mut Vec<usize>,
    reinit_fraction: f32,
    rng: &mut StreamRng,
    mut restart: impl FnMut(&mut [f32], &mut StreamRng),
) {
    let chains = buffer.len() / d;
    slots.clear();
    for row in negatives.chunks_exact_mut(d) {
        let slot = rng::index(rng, chains);
        slots.push(slot);
        if (rng::uniform_f64(rng) as f32) < reinit_fraction {
            restart(row, rng);
        } else {
            row.copy_from_slice(&buffer[slot * d..(slot + 1) * d]);
        }
    }
}

/// Write the rows of `negatives` back to the buffer slots [`draw`] recorded.
pub fn store(buffer: &mut [f32], d: usize, negatives: &[f32], slots: &[usize]) {
    for (row, &slot) in negatives.chunks_exact(d).zip(slots) {
        buffer[slot * d..(slot + 1) * d].copy_from_slice(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::stream;

    /// Without restarts the drawn rows are buffer rows, and storing them back after a
    /// change lands in the same slots; with every row restarted none comes from the
    /// buffer.
    #[test]
    fn draws_come_from_their_slots_and_go_back_there() {
        let buffer: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let (mut negatives, mut slots) = (vec![0.0f32; 6], Vec::new());
        let mut r = stream(3, 0, 0);
        draw(
            &buffer,
            2,
            &mut negatives,
            &mut slots,
            0.0,
            &mut r,
            |_, _| {},
        );
        for (row, &slot) in negatives.chunks_exact(2).zip(&slots) {
            assert_eq!(row, &buffer[2 * slot..2 * slot + 2]);
        }
        let mut changed = buffer.clone();
        negatives.iter_mut().for_each(|v| *v = -1.0);
        store(&mut changed, 2, &negatives, &slots);
        for slot in 0..6 {
            let row = &changed[2 * slot..2 * slot + 2];
            assert_eq!(row == [-1.0, -1.0], slots.contains(&slot), "slot {slot}");
        }
        draw(
            &buffer,
            2,
            &mut negatives,
            &mut slots,
            1.0,
            &mut r,
            |row, _| row.fill(99.0),
        );
        assert!(negatives.iter().all(|&v| v == 99.0));
    }
}
