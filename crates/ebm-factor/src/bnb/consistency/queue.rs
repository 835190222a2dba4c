//! The work queues of propagation: variables waiting for a check, each queued at most
//! once, taken last in first out (arc consistency's revisions, leaf extension,
//! elimination, node consistency and the existential step each keep one).

/// A set of variables waiting for a check: a variable pushed while queued is not queued
/// twice; [`pop`](Self::pop) takes the last one pushed.
#[derive(Clone, Debug)]
pub(super) struct VariableQueue {
    order: Vec<usize>,
    queued: Vec<bool>,
}

impl VariableQueue {
    /// No variable of `n` queued.
    pub(super) fn empty(n: usize) -> Self {
        Self {
            order: Vec::new(),
            queued: vec![false; n],
        }
    }

    /// Every variable of `n` queued, `0` first (so `n - 1` is taken first).
    pub(super) fn full(n: usize) -> Self {
        Self {
            order: (0..n).collect(),
            queued: vec![true; n],
        }
    }

    /// Queue `v` unless it is queued already.
    pub(super) fn push(&mut self, v: usize) {
        if !self.queued[v] {
            self.queued[v] = true;
            self.order.push(v);
        }
    }

    /// Take the last variable queued.
    pub(super) fn pop(&mut self) -> Option<usize> {
        let v = self.order.pop()?;
        self.queued[v] = false;
        Some(v)
    }

    /// Whether no variable is queued.
    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Forget every queued variable.
    pub(super) fn clear(&mut self) {
        for v in self.order.drain(..) {
            self.queued[v] = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variable_is_queued_once_and_taken_last_in_first_out() {
        let mut q = VariableQueue::empty(4);
        for v in [2, 0, 2, 3] {
            q.push(v);
        }
        assert_eq!((q.pop(), q.pop()), (Some(3), Some(0)));
        q.push(3);
        q.push(2);
        assert_eq!((q.pop(), q.pop(), q.pop()), (Some(3), Some(2), None));
        assert!(q.is_empty());
        let mut full = VariableQueue::full(3);
        full.clear();
        assert_eq!(full.pop(), None);
        full.push(1);
        assert_eq!(full.pop(), Some(1));
        let mut full = VariableQueue::full(2);
        full.push(0);
        assert_eq!(
            (full.pop(), full.pop(), full.pop()),
            (Some(1), Some(0), None)
        );
    }
}
