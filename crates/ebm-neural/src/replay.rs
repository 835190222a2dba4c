//! The replay buffer of persistent Langevin chains (Du & Mordatch 2019): each batch draws
//! its chains from random slots of the buffer, restarting a share of them from noise, and
//! writes them back after their Langevin steps. Contrastive divergence with persistent
//! chains and the joint energy model's negatives share it.

use ebm_kernels::rng::{self, StreamRng};

/// How the rows of a replay buffer (and of the drawn negatives) are laid out: `dim`
/// values a chain, and `replicas` copies of every chain (tempered chains, hottest last),
/// stored replica-major: all chains of replica 0, then of replica 1, and so on.
#[derive(Clone, Copy, Debug)]
pub struct Rows {
    /// Values per chain.
    pub dim: usize,
    /// Copies of every chain (1 without tempering).
    pub replicas: usize,
}

impl Rows {
    /// One copy of every chain of `dim` values.
    pub fn plain(dim: usize) -> Self {
        Self { dim, replicas: 1 }
    }

    /// The range of chain `k`'s row in replica `r` of a block of `chains` chains.
    fn row(self, chains: usize, r: usize, k: usize) -> std::ops::Range<usize> {
        let start = (r * chains + k) * self.dim;
        start..start + self.dim
    }
}

/// Draw one chain of `buffer` at random per row of `negatives` (every replica of it),
/// recording the slots in `slots`; with probability `reinit_fraction` a drawn chain's
/// hottest replica (the only one without tempering) is instead restarted by
/// `restart(row, rng)`. Per chain the draws are: the slot, then the restart coin, then
/// whatever `restart` draws.
pub fn draw(
    buffer: &[f32],
    rows: Rows,
    negatives: &mut [f32],
    slots: &mut Vec<usize>,
    reinit_fraction: f32,
    rng: &mut StreamRng,
    mut restart: impl FnMut(&mut [f32], &mut StreamRng),
) {
    let block = rows.dim * rows.replicas;
    let (chains, n) = (buffer.len() / block, negatives.len() / block);
    let hottest = rows.replicas - 1;
    slots.clear();
    for k in 0..n {
        let slot = rng::index(rng, chains);
        slots.push(slot);
        let restarted = (rng::uniform_f64(rng) as f32) < reinit_fraction;
        for r in 0..rows.replicas {
            if !(restarted && r == hottest) {
                negatives[rows.row(n, r, k)].copy_from_slice(&buffer[rows.row(chains, r, slot)]);
            }
        }
        if restarted {
            restart(&mut negatives[rows.row(n, hottest, k)], rng);
        }
    }
}

/// Write the rows of `negatives` (every replica) back to the buffer slots [`draw`]
/// recorded.
pub fn store(buffer: &mut [f32], rows: Rows, negatives: &[f32], slots: &[usize]) {
    let block = rows.dim * rows.replicas;
    let (chains, n) = (buffer.len() / block, negatives.len() / block);
    for (k, &slot) in slots.iter().enumerate().take(n) {
        for r in 0..rows.replicas {
            buffer[rows.row(chains, r, slot)].copy_from_slice(&negatives[rows.row(n, r, k)]);
        }
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
            Rows::plain(2),
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
        store(&mut changed, Rows::plain(2), &negatives, &slots);
        for slot in 0..6 {
            let row = &changed[2 * slot..2 * slot + 2];
            assert_eq!(row == [-1.0, -1.0], slots.contains(&slot), "slot {slot}");
        }
        draw(
            &buffer,
            Rows::plain(2),
            &mut negatives,
            &mut slots,
            1.0,
            &mut r,
            |row, _| row.fill(99.0),
        );
        assert!(negatives.iter().all(|&v| v == 99.0));
    }

    /// With two replicas every drawn chain brings both copies from its slot; a restart
    /// replaces only the hottest (second) copy; storing puts both back in their blocks.
    #[test]
    fn replicas_come_together_and_only_the_hottest_restarts() {
        // 3 chains of 2 values, 2 replicas: replica r of chain k holds 10r + k.
        let buffer: Vec<f32> = (0..2)
            .flat_map(|r| (0..3).flat_map(move |k| [(10 * r + k) as f32; 2]))
            .collect();
        let rows = Rows {
            dim: 2,
            replicas: 2,
        };
        let (mut negatives, mut slots) = (vec![0.0f32; 2 * 2 * 2], Vec::new());
        let mut r = stream(5, 0, 0);
        draw(
            &buffer,
            rows,
            &mut negatives,
            &mut slots,
            0.0,
            &mut r,
            |_, _| {},
        );
        for (k, &slot) in slots.iter().enumerate() {
            assert_eq!(negatives[2 * k], slot as f32, "cold copy of draw {k}");
            assert_eq!(
                negatives[4 + 2 * k],
                (10 + slot) as f32,
                "hot copy of draw {k}"
            );
        }
        draw(
            &buffer,
            rows,
            &mut negatives,
            &mut slots,
            1.0,
            &mut r,
            |row, _| row.fill(-5.0),
        );
        for (k, &slot) in slots.iter().enumerate() {
            assert_eq!(negatives[2 * k], slot as f32, "cold copy kept for draw {k}");
            assert_eq!(
                negatives[4 + 2 * k],
                -5.0,
                "hot copy restarted for draw {k}"
            );
        }
        let mut changed = buffer.clone();
        store(&mut changed, rows, &negatives, &slots);
        for &slot in &slots {
            assert_eq!(changed[2 * slot], slot as f32);
            assert_eq!(changed[6 + 2 * slot], -5.0);
        }
    }
}
