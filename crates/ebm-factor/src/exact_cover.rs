//! Exact cover by Knuth's Algorithm X with dancing links: given items `0..items` and
//! options (sets of items), choose options that contain every item exactly once. The
//! search branches on the uncovered item with the fewest options left, covering (and
//! later uncovering) every option that clashes with the chosen one in the linked lists.

use std::time::Instant;

/// How [`exact_cover`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cover {
    /// The indices of options that cover every item exactly once.
    Found(Vec<usize>),
    /// The search explored every branch: no exact cover exists.
    None,
    /// The deadline came first.
    Stopped,
}

/// The dancing-links table: node 0 is the root, nodes `1..=items` the item headers, the
/// rest one node per (option, item).
struct Links {
    left: Vec<usize>,
    right: Vec<usize>,
    up: Vec<usize>,
    down: Vec<usize>,
    /// The header of a node's item (a header's own index for headers).
    item: Vec<usize>,
    /// The option of a node (unused for headers).
    option: Vec<usize>,
    /// Options left for each header.
    size: Vec<usize>,
}

impl Links {
    fn new(items: usize, options: &[Vec<usize>]) -> Self {
        let nodes = 1 + items + options.iter().map(Vec::len).sum::<usize>();
        let mut links = Self {
            left: Vec::with_capacity(nodes),
            right: Vec::with_capacity(nodes),
            up: Vec::with_capacity(nodes),
            down: Vec::with_capacity(nodes),
            item: Vec::with_capacity(nodes),
            option: Vec::with_capacity(nodes),
            size: vec![0; items + 1],
        };
        for h in 0..=items {
            links.left.push(if h == 0 { items } else { h - 1 });
            links.right.push(if h == items { 0 } else { h + 1 });
            links.up.push(h);
            links.down.push(h);
            links.item.push(h);
            links.option.push(usize::MAX);
        }
        for (o, option) in options.iter().enumerate() {
            let first = links.item.len();
            for (i, &it) in option.iter().enumerate() {
                let node = first + i;
                let header = it + 1;
                links.left.push(if i == 0 {
                    first + option.len() - 1
                } else {
                    node - 1
                });
                links.right.push(if i + 1 == option.len() {
                    first
                } else {
                    node + 1
                });
                let last = links.up[header];
                links.up.push(last);
                links.down.push(header);
                links.down[last] = node;
                links.up[header] = node;
                links.item.push(header);
                links.option.push(o);
                links.size[header] += 1;
            }
        }
        links
    }

    fn cover(&mut self, header: usize) {
        let (l, r) = (self.left[header], self.right[header]);
        self.right[l] = r;
        self.left[r] = l;
        self.relink_options(header, false);
    }

    fn uncover(&mut self, header: usize) {
        self.relink_options(header, true);
        let (l, r) = (self.left[header], self.right[header]);
        self.right[l] = header;
        self.left[r] = header;
    }

    /// Take every other node of the options of `header`'s item out of its item's list
    /// (top to bottom, left to right), or, with `restore`, put them back in exactly the
    /// reverse order.
    fn relink_options(&mut self, header: usize, restore: bool) {
        let step = |links: &Self, node: usize, along: bool| match (along, restore) {
            (false, false) => links.down[node],
            (false, true) => links.up[node],
            (true, false) => links.right[node],
            (true, true) => links.left[node],
        };
        let mut row = step(self, header, false);
        while row != header {
            let mut node = step(self, row, true);
            while node != row {
                let (u, d) = (self.up[node], self.down[node]);
                let item = self.item[node];
                if restore {
                    (self.down[u], self.up[d]) = (node, node);
                    self.size[item] += 1;
                } else {
                    (self.down[u], self.up[d]) = (d, u);
                    self.size[item] -= 1;
                }
                node = step(self, node, true);
            }
            row = step(self, row, false);
        }
    }

    /// The uncovered item with the fewest options (`None`: all covered).
    fn choose(&self) -> Option<usize> {
        let mut best = None;
        let mut h = self.right[0];
        while h != 0 {
            if best.is_none_or(|b| self.size[h] < self.size[b]) {
                best = Some(h);
                if self.size[h] == 0 {
                    break;
                }
            }
            h = self.right[h];
        }
        best
    }
}

/// Search state of Algorithm X.
struct Search<'a> {
    links: &'a mut Links,
    chosen: Vec<usize>,
    deadline: Option<Instant>,
    nodes: u64,
    stopped: bool,
}

impl Search<'_> {
    /// `true` when a cover was completed (then `chosen` holds it).
    fn solve(&mut self) -> bool {
        self.nodes += 1;
        if self.nodes % 4096 == 0 && self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stopped = true;
        }
        if self.stopped {
            return false;
        }
        let Some(header) = self.links.choose() else {
            return true;
        };
        if self.links.size[header] == 0 {
            return false;
        }
        self.links.cover(header);
        let mut row = self.links.down[header];
        while row != header {
            self.chosen.push(self.links.option[row]);
            let mut node = self.links.right[row];
            while node != row {
                self.links.cover(self.links.item[node]);
                node = self.links.right[node];
            }
            if self.solve() {
                return true;
            }
            let mut node = self.links.left[row];
            while node != row {
                self.links.uncover(self.links.item[node]);
                node = self.links.left[node];
            }
            self.chosen.pop();
            if self.stopped {
                break;
            }
            row = self.links.down[row];
        }
        self.links.uncover(header);
        false
    }
}

/// An exact cover of the items `0..items` by some of `options` (each a list of distinct
/// items below `items`), by Algorithm X with dancing links, stopped at `deadline`.
/// Options that name an item out of range or twice are ignored (they can be in no cover).
///
/// # Example
///
/// ```
/// use ebm_factor::exact_cover::{Cover, exact_cover};
/// // Knuth's example: items 0..7, the cover is options 0, 3 and 4.
/// let options = vec![
///     vec![2, 4, 5], vec![0, 3, 6], vec![1, 2, 5], vec![0, 3],
///     vec![1, 6], vec![3, 4, 6],
/// ];
/// let Cover::Found(mut chosen) = exact_cover(7, &options, None) else { panic!() };
/// chosen.sort();
/// assert_eq!(chosen, vec![0, 3, 4]);
/// assert_eq!(exact_cover(3, &[vec![0, 1], vec![1, 2]], None), Cover::None);
/// ```
pub fn exact_cover(items: usize, options: &[Vec<usize>], deadline: Option<Instant>) -> Cover {
    let valid: Vec<usize> = (0..options.len())
        .filter(|&o| {
            let option = &options[o];
            let mut seen = vec![false; items];
            !option.is_empty()
                && option
                    .iter()
                    .all(|&i| i < items && !std::mem::replace(&mut seen[i], true))
        })
        .collect();
    let kept: Vec<Vec<usize>> = valid.iter().map(|&o| options[o].clone()).collect();
    let mut links = Links::new(items, &kept);
    let mut search = Search {
        links: &mut links,
        chosen: Vec::new(),
        deadline,
        nodes: 0,
        stopped: false,
    };
    if search.solve() {
        Cover::Found(search.chosen.iter().map(|&o| valid[o]).collect())
    } else if search.stopped {
        Cover::Stopped
    } else {
        Cover::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `chosen` covers `0..items` exactly once.
    fn is_exact(items: usize, options: &[Vec<usize>], chosen: &[usize]) -> bool {
        let mut count = vec![0; items];
        for &o in chosen {
            for &i in &options[o] {
                count[i] += 1;
            }
        }
        count.iter().all(|&c| c == 1)
    }

    #[test]
    fn finds_a_cover_or_proves_there_is_none() {
        // Dominoes on a 2x3 board (cells 0..6, rows 0-2 and 3-5): a tiling exists.
        let dominoes = vec![
            vec![0, 1],
            vec![1, 2],
            vec![3, 4],
            vec![4, 5],
            vec![0, 3],
            vec![1, 4],
            vec![2, 5],
        ];
        let Cover::Found(chosen) = exact_cover(6, &dominoes, None) else {
            panic!("the 2x3 board has tilings")
        };
        assert!(is_exact(6, &dominoes, &chosen));
        // Without cell 0's dominoes nothing covers it; with a 3x3 board minus nothing, an
        // odd number of cells cannot be tiled.
        assert_eq!(exact_cover(6, &dominoes[1..4], None), Cover::None);
        let mut odd = Vec::new();
        for r in 0..3 {
            for c in 0..3 {
                let cell = 3 * r + c;
                if c < 2 {
                    odd.push(vec![cell, cell + 1]);
                }
                if r < 2 {
                    odd.push(vec![cell, cell + 3]);
                }
            }
        }
        assert_eq!(exact_cover(9, &odd, None), Cover::None);
        // Options that repeat an item or leave the range are ignored; no items: empty cover.
        assert_eq!(
            exact_cover(2, &[vec![0, 0], vec![0, 2], vec![0, 1]], None),
            Cover::Found(vec![2])
        );
        assert_eq!(exact_cover(0, &[], None), Cover::Found(vec![]));
    }

    #[test]
    fn a_past_deadline_stops_a_large_search() {
        // 4096+ nodes are needed before the deadline is checked: the pentomino-free
        // "every pair" instance over 14 items has many branches and no cover (odd size).
        let items = 15;
        let mut pairs = Vec::new();
        for a in 0..items {
            for b in a + 1..items {
                pairs.push(vec![a, b]);
            }
        }
        let past = Instant::now();
        assert_eq!(exact_cover(items, &pairs, Some(past)), Cover::Stopped);
        assert_eq!(
            exact_cover(
                7,
                &pairs
                    .iter()
                    .filter(|p| p[1] < 7)
                    .cloned()
                    .collect::<Vec<_>>(),
                None
            ),
            Cover::None
        );
    }
}
