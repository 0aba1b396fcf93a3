//! Token allocation for a joining host: which vnode tokens it should take.
//!
//! [`allocate_tokens`] keeps effective ownership balanced, in the spirit of
//! Cassandra 4's `allocate_tokens_for_local_replication_factor`: the first
//! host of a data center gets evenly spaced tokens, and every later host picks
//! its tokens one at a time, each time taking the split point (the midpoint of
//! an existing range) that leaves the per-host effective ownership of the
//! data center with the least variance. Greedy choice alone strands a host
//! 10% off even now and then, because early tokens are placed without
//! knowing the later ones; so a local search follows, moving each new token
//! to its best split given all the others while that lowers the variance.
//! Ownership is measured as replication
//! with the given factor over the data center's hosts alone, walking the ring
//! clockwise (SimpleStrategy within the DC, NetworkTopologyStrategy with one
//! rack); racks are not considered. With 16 tokens and factor 3, at 3 to 6
//! hosts every host's effective ownership stays within ±10% of even (the
//! tests' goal; over 40 seeds growing to 10 hosts the worst host was 2% off).
//!
//! [`random_tokens`] is Cassandra's older random allocation, made
//! deterministic by a seed; it balances only on average.

use std::collections::BTreeSet;

use crate::ring::{Endpoint, Ring, TOKEN_SPACE, Token};

/// Cassandra 4's default number of vnodes per host (`num_tokens: 16`).
pub const DEFAULT_NUM_TOKENS: usize = 16;

/// Tokens for `joining` that keep the effective ownership of its data center
/// balanced under replication factor `rf`. The result is sorted and distinct
/// from every token on the ring; `joining`'s own tokens, if it is already on
/// the ring, are disregarded. The seed only places the first host of a data
/// center: the same ring, host and seed always give the same tokens.
pub fn allocate_tokens(
    ring: &Ring,
    joining: &Endpoint,
    num_tokens: usize,
    rf: usize,
    seed: u64,
) -> Vec<Token> {
    let taken: BTreeSet<i64> = ring
        .tokens()
        .filter(|&(_, h)| h != joining.host_id)
        .map(|(t, _)| t.0)
        .collect();
    let mut model = DcModel::of(ring, joining, rf);
    if model.tokens.is_empty() {
        return evenly_spaced(num_tokens, &taken, seed);
    }
    let mut chosen = Vec::with_capacity(num_tokens);
    for _ in 0..num_tokens {
        let Some(token) = model.best_split(&taken) else {
            break;
        };
        model.insert(token, model.joining);
        chosen.push(Token(token));
    }
    model.refine(&taken, &mut chosen);
    chosen.sort();
    chosen
}

/// `num_tokens` distinct random tokens not on the ring, determined by `seed`.
pub fn random_tokens(ring: &Ring, num_tokens: usize, seed: u64) -> Vec<Token> {
    let taken: BTreeSet<i64> = ring.tokens().map(|(t, _)| t.0).collect();
    let mut rng = SplitMix64(seed);
    let mut chosen = BTreeSet::new();
    while chosen.len() < num_tokens {
        let t = rng.next() as i64;
        // i64::MIN stands for the ring's minimum and is never a real token.
        if t != i64::MIN && !taken.contains(&t) {
            chosen.insert(t);
        }
    }
    chosen.into_iter().map(Token).collect()
}

/// `n` tokens spaced 2^64/n apart from a seeded random offset.
fn evenly_spaced(n: usize, taken: &BTreeSet<i64>, seed: u64) -> Vec<Token> {
    let Ok(n64) = u64::try_from(n) else {
        return Vec::new();
    };
    if n64 == 0 {
        return Vec::new();
    }
    let step = u64::MAX / n64;
    let offset = SplitMix64(seed).next();
    let mut tokens: Vec<Token> = (0..n64)
        .map(|k| {
            let mut t = offset.wrapping_add(k.wrapping_mul(step)) as i64;
            while t == i64::MIN || taken.contains(&t) {
                t = t.wrapping_add(1);
            }
            Token(t)
        })
        .collect();
    tokens.sort();
    tokens
}

/// How many times at most the local search revisits every new token.
const REFINE_ROUNDS: usize = 4;

/// The data center's ring as the allocator sees it: tokens with dense host
/// indices, so trying a candidate is cheap.
#[derive(Debug)]
struct DcModel {
    /// Sorted tokens with the index of their host.
    tokens: Vec<(i64, usize)>,
    /// The number of hosts, the joining one included.
    hosts: usize,
    /// The joining host's index.
    joining: usize,
    rf: usize,
}

impl DcModel {
    /// The hosts of `joining`'s data center other than itself, plus itself
    /// with no tokens yet.
    fn of(ring: &Ring, joining: &Endpoint, rf: usize) -> DcModel {
        let dc_hosts: Vec<_> = ring
            .endpoints()
            .filter(|e| e.datacenter == joining.datacenter && e.host_id != joining.host_id)
            .map(|e| e.host_id)
            .collect();
        let tokens = ring
            .tokens()
            .filter_map(|(t, h)| dc_hosts.iter().position(|&d| d == h).map(|i| (t.0, i)))
            .collect();
        DcModel {
            tokens,
            hosts: dc_hosts.len() + 1,
            joining: dc_hosts.len(),
            rf,
        }
    }

    /// Local search after the greedy pass: moves each of the joining host's
    /// tokens to the best split given all the others, while that helps.
    fn refine(&mut self, taken: &BTreeSet<i64>, chosen: &mut [Token]) {
        for _ in 0..REFINE_ROUNDS {
            let mut moved = false;
            for token in chosen.iter_mut() {
                let before = self.variance();
                self.tokens.retain(|&(t, _)| t != token.0);
                match self.best_split(taken) {
                    Some(t) if t != token.0 => {
                        self.insert(t, self.joining);
                        if self.variance() < before {
                            *token = Token(t);
                            moved = true;
                            continue;
                        }
                        self.tokens.retain(|&(x, _)| x != t);
                    }
                    _ => {}
                }
                self.insert(token.0, self.joining);
            }
            if !moved {
                break;
            }
        }
    }

    fn insert(&mut self, token: i64, host: usize) {
        let at = self.tokens.partition_point(|&(t, _)| t < token);
        self.tokens.insert(at, (token, host));
    }

    /// The midpoint of some range that, taken by the joining host, minimizes
    /// the ownership variance; ties go to the larger range, then the earlier.
    fn best_split(&self, taken: &BTreeSet<i64>) -> Option<i64> {
        let mut candidates: Vec<(u64, i64)> = Vec::new();
        for i in 0..self.tokens.len() {
            let (left, right) = self.range(i);
            let width = (right as u64).wrapping_sub(left as u64);
            let width = if width == 0 { u64::MAX } else { width };
            let mid = left.wrapping_add((width / 2) as i64);
            if width >= 2 && mid != i64::MIN && !taken.contains(&mid) {
                candidates.push((width, mid));
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut best: Option<(f64, i64)> = None;
        let mut trial = DcModel {
            tokens: Vec::new(),
            ..*self
        };
        for &(_, mid) in &candidates {
            trial.tokens.clone_from(&self.tokens);
            trial.insert(mid, self.joining);
            let cost = trial.variance();
            if best.is_none_or(|(b, _)| cost < b) {
                best = Some((cost, mid));
            }
        }
        best.map(|(_, mid)| mid)
    }

    /// The range `(left, right]` owned by the token at index `i`.
    fn range(&self, i: usize) -> (i64, i64) {
        let n = self.tokens.len();
        (self.tokens[(i + n - 1) % n].0, self.tokens[i].0)
    }

    /// The variance of per-host effective ownership (joining host included).
    fn variance(&self) -> f64 {
        let owns = self.ownership();
        let mean = owns.iter().sum::<f64>() / owns.len() as f64;
        owns.iter().map(|o| (o - mean) * (o - mean)).sum::<f64>() / owns.len() as f64
    }

    /// Each host's fraction of the token space it replicates, walking the
    /// ring clockwise to `rf` distinct hosts per range.
    fn ownership(&self) -> Vec<f64> {
        let n = self.tokens.len();
        let want = self.rf.min(self.hosts);
        let mut owns = vec![0.0; self.hosts];
        let mut replicas = Vec::with_capacity(want);
        for i in 0..n {
            let (left, right) = self.range(i);
            let width = (right as u64).wrapping_sub(left as u64);
            let share = if width == 0 {
                1.0
            } else {
                width as f64 / TOKEN_SPACE
            };
            replicas.clear();
            for k in 0..n {
                if replicas.len() == want {
                    break;
                }
                let host = self.tokens[(i + k) % n].1;
                if !replicas.contains(&host) {
                    replicas.push(host);
                    owns[host] += share;
                }
            }
        }
        owns
    }
}

/// SplitMix64: a tiny, well-mixed deterministic generator, enough for token
/// placement (no dependency needed for 64 random bits).
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests;
