//! Range scans: the key range split at ring tokens, each piece read from
//! the replicas the level needs, reconciled, repaired, in token order.
//!
//! Each replica returns at most the rows still wanted. What lies past the
//! last row of a replica that stopped at its limit is unknown to it, so the
//! answers are cut at the earliest such position and the piece is read on
//! from there: the result is complete and in order however the replicas
//! disagree.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use storage::ScanCommand;
use storage::{
    DecoratedKey, KeyRange, Mutation, PartitionBound, PartitionPosition, TableId, Token,
};
use tokio::time::Instant;

use super::merge::{
    ScanPosition, Within, cut_scan_after, digest, last_position, live_view, merge_all,
};
use super::read::{RoundCtx, all_answers, check_read_level, gather};
use super::send::remaining;
use super::wire::RangeReadRequest;
use super::{ClusterCoordinator, CoordinatorError, ReadLimits, ReadOutcome};
use crate::consistency::ConsistencyLevel;
use crate::replication::ReplicationStrategy;
use crate::ring::{HostId, Ring};

/// A non-wrapping piece of the ring and the token whose replicas hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Piece {
    pub(crate) range: KeyRange,
    pub(crate) token: Token,
}

/// Where a start bound sits: (token, 0 before its keys | 1 at a key | 2
/// after them); `None` is the beginning of the ring.
fn start_pos(b: &PartitionBound) -> Option<(Token, u8)> {
    match b {
        PartitionBound::Unbounded => None,
        PartitionBound::Inclusive(PartitionPosition::Token(t)) => Some((*t, 0)),
        PartitionBound::Exclusive(PartitionPosition::Token(t)) => Some((*t, 2)),
        PartitionBound::Inclusive(PartitionPosition::Key(k))
        | PartitionBound::Exclusive(PartitionPosition::Key(k)) => Some((k.token, 1)),
    }
}

/// Where an end bound sits; `None` is the end of the ring.
fn end_pos(b: &PartitionBound) -> Option<(Token, u8)> {
    match b {
        PartitionBound::Unbounded => None,
        PartitionBound::Inclusive(PartitionPosition::Token(t)) => Some((*t, 2)),
        PartitionBound::Exclusive(PartitionPosition::Token(t)) => Some((*t, 0)),
        PartitionBound::Inclusive(PartitionPosition::Key(k))
        | PartitionBound::Exclusive(PartitionPosition::Key(k)) => Some((k.token, 1)),
    }
}

/// The later of two starts (`None` sorts first).
fn tighter_start(a: PartitionBound, b: PartitionBound) -> PartitionBound {
    if start_pos(&a) >= start_pos(&b) { a } else { b }
}

/// The earlier of two ends (`None` sorts last).
fn tighter_end(a: PartitionBound, b: PartitionBound) -> PartitionBound {
    let order = match (end_pos(&a), end_pos(&b)) {
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (x, y) => x.cmp(&y),
    };
    if order == Ordering::Greater { b } else { a }
}

/// Whether no key can lie in the range.
fn is_empty(range: &KeyRange) -> bool {
    match (start_pos(&range.start), end_pos(&range.end)) {
        (Some(s), Some(e)) => s > e || (s == e && s.1 != 1),
        _ => false,
    }
}

/// The ring's ranges clipped to `range`, in token order. The wrapping range
/// becomes two pieces, at the start and at the end of the token space.
pub(crate) fn pieces(ring: &Ring, range: &KeyRange) -> Vec<Piece> {
    let tokens: Vec<Token> = ring.tokens().map(|(t, _)| t).collect();
    let Some(&first) = tokens.first() else {
        return Vec::new();
    };
    let token_bound = |t| PartitionPosition::Token(t);
    let mut raw = Vec::with_capacity(tokens.len() + 1);
    let mut start = PartitionBound::Unbounded;
    for &t in &tokens {
        raw.push((start, PartitionBound::Inclusive(token_bound(t)), t));
        start = PartitionBound::Exclusive(token_bound(t));
    }
    raw.push((start, PartitionBound::Unbounded, first));
    raw.into_iter()
        .map(|(s, e, token)| Piece {
            range: KeyRange {
                start: tighter_start(s, range.start.clone()),
                end: tighter_end(e, range.end.clone()),
            },
            token,
        })
        .filter(|p| !is_empty(&p.range))
        .collect()
}

/// Where the next round of a piece starts.
#[derive(Clone, Debug)]
struct Cursor {
    range: KeyRange,
    resume: Option<(DecoratedKey, storage::ClusteringKey)>,
}

/// What one round of a piece produced.
struct Round {
    partitions: Vec<Mutation>,
    next: Option<Cursor>,
    tombstones: u64,
}

/// The scan's output so far.
struct Output {
    out: ReadOutcome,
    remaining: usize,
    now: i64,
}

impl Output {
    /// Adds a round's merged partitions (live data only), counting rows.
    fn append(&mut self, partitions: Vec<Mutation>) {
        for m in partitions {
            if self.remaining == 0 {
                self.out.stopped_at_limit = true;
                return;
            }
            let (data, cut) = live_view(m, self.now, false, self.remaining);
            self.out.stopped_at_limit |= cut;
            let Some(mut data) = data else { continue };
            let continued = self.out.partitions.last_mut().filter(|p| p.key == data.key);
            let counted = match continued {
                Some(p) => {
                    let n = data.rows.len();
                    p.rows.append(&mut data.rows);
                    p.static_row = p.static_row.take().or(data.static_row);
                    n
                }
                None => {
                    let n = data.rows.len().max(1);
                    self.out.partitions.push(data);
                    n
                }
            };
            self.remaining = self.remaining.saturating_sub(counted);
        }
    }
}

impl ClusterCoordinator {
    /// Scans `scan.range` of `table` at `cl`, in token order, at most
    /// `limits.max_rows` rows; `stopped_at_limit` says more may follow.
    pub async fn scan(
        &self,
        table: TableId,
        scan: ScanCommand,
        limits: ReadLimits,
        cl: ConsistencyLevel,
        strategy: &dyn ReplicationStrategy,
    ) -> Result<ReadOutcome, CoordinatorError> {
        check_read_level(cl)?;
        let ring = self.topology.ring();
        let info = strategy.replication_info();
        let deadline = Instant::now() + self.config.range_timeout;
        let mut range = scan.range.clone();
        if let Some((key, _)) = &scan.resume_after {
            let resume = PartitionBound::Inclusive(PartitionPosition::Key(key.clone()));
            range.start = tighter_start(range.start, resume);
        }
        let mut output = Output {
            out: ReadOutcome::default(),
            remaining: limits.max_rows,
            now: scan.now,
        };
        for piece in pieces(&ring, &range) {
            let replicas = strategy.replicas(&ring, piece.token);
            let targets = self.read_targets(&ring, &replicas, &info, cl)?;
            let ctx = RoundCtx {
                cl,
                block_for: targets.len(),
                deadline,
            };
            let mut cursor = Some(Cursor {
                range: piece.range,
                resume: scan.resume_after.clone(),
            });
            while let Some(c) = cursor.take() {
                if output.remaining == 0 {
                    output.out.stopped_at_limit = true;
                    return Ok(output.out);
                }
                let req = RangeReadRequest {
                    table,
                    range: c.range,
                    resume_after: c.resume,
                    columns: scan.columns.clone(),
                    now: scan.now,
                    row_limit: Some(output.remaining as u64),
                    max_tombstones: limits.max_tombstones as u64,
                };
                let round = self.scan_round(&targets, req, ctx).await?;
                let seen = &mut output.out.tombstones_scanned;
                *seen = (*seen).max(round.tombstones as usize);
                output.append(round.partitions);
                cursor = round.next;
            }
        }
        Ok(output.out)
    }

    /// One request to every target, merged and repaired; says where to go on.
    async fn scan_round(
        &self,
        targets: &[HostId],
        req: RangeReadRequest,
        ctx: RoundCtx,
    ) -> Result<Round, CoordinatorError> {
        let requests = targets
            .iter()
            .map(|&h| self.sender.range(h, &req, remaining(ctx.deadline)))
            .collect();
        let answers = all_answers(gather(requests, ctx.deadline).await, ctx, |a| {
            a.iter().any(Option::is_some)
        })?;
        let tombstones = answers
            .iter()
            .map(|a| a.tombstones_scanned)
            .max()
            .unwrap_or(0);
        let cut = answers
            .iter()
            .filter(|a| a.hit_limit)
            .filter_map(|a| last_position(&a.partitions, a.last_partial))
            .min();
        // Per key, each target's version (absent when it had nothing).
        let mut by_key: BTreeMap<DecoratedKey, Vec<Option<Mutation>>> = BTreeMap::new();
        let n = answers.len();
        for (i, mut answer) in answers.into_iter().enumerate() {
            if let Some(cut) = &cut {
                cut_scan_after(&mut answer.partitions, cut);
            }
            for m in answer.partitions {
                let versions = by_key.entry(m.key.clone()).or_insert_with(|| vec![None; n]);
                versions[i] = Some(m);
            }
        }
        let mut partitions = Vec::with_capacity(by_key.len());
        for versions in by_key.into_values() {
            let Some(merged) = merge_all(versions.iter().flatten().cloned()) else {
                continue;
            };
            let expected = digest(&merged);
            let stale: Vec<HostId> = targets
                .iter()
                .zip(&versions)
                .filter(|(_, v)| v.as_ref().is_none_or(|v| digest(v) != expected))
                .map(|(&h, _)| h)
                .collect();
            self.repair(&stale, &merged, ctx).await?;
            partitions.push(merged);
        }
        let next = cut.map(|c| next_cursor(&req.range, c));
        Ok(Round {
            partitions,
            next,
            tombstones,
        })
    }
}

/// The rest of `range` after `cut`.
fn next_cursor(range: &KeyRange, cut: ScanPosition) -> Cursor {
    match cut.within {
        Within::Row(clustering) => Cursor {
            range: range.clone(),
            resume: Some((cut.key, clustering)),
        },
        Within::End => Cursor {
            range: KeyRange {
                start: PartitionBound::Exclusive(PartitionPosition::Key(cut.key)),
                end: range.end.clone(),
            },
            resume: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{Endpoint, HostId};

    fn ring(tokens: &[i64]) -> Ring {
        let mut ring = Ring::new();
        let ep = Endpoint {
            host_id: HostId([1; 16]),
            address: ([127, 0, 0, 1], 7000).into(),
            datacenter: "dc1".into(),
            rack: "r1".into(),
        };
        ring.add(ep, tokens.iter().map(|&t| Token(t))).unwrap();
        ring
    }

    #[test]
    fn the_whole_ring_splits_at_every_token_with_the_wrap_in_two() {
        let p = pieces(&ring(&[-10, 0, 10]), &KeyRange::ALL);
        let tokens: Vec<i64> = p.iter().map(|p| p.token.0).collect();
        assert_eq!(tokens, [-10, 0, 10, -10]);
        assert_eq!(p[0].range.start, PartitionBound::Unbounded);
        assert_eq!(p[3].range.end, PartitionBound::Unbounded);
    }

    #[test]
    fn a_token_range_keeps_only_the_pieces_it_touches() {
        let range = KeyRange {
            start: PartitionBound::Exclusive(PartitionPosition::Token(Token(-5))),
            end: PartitionBound::Inclusive(PartitionPosition::Token(Token(0))),
        };
        let p = pieces(&ring(&[-10, 0, 10]), &range);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].token, Token(0));
        assert_eq!(p[0].range, range);
        let at_token = KeyRange {
            start: PartitionBound::Exclusive(PartitionPosition::Token(Token(0))),
            end: PartitionBound::Inclusive(PartitionPosition::Token(Token(0))),
        };
        assert!(pieces(&ring(&[-10, 0, 10]), &at_token).is_empty());
    }
}
