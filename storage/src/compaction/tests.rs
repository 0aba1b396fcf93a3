use super::*;
use crate::key::Token;
use crate::options::{LeveledOptions, SizeTieredOptions, TimeWindowOptions};
use bytes::Bytes;
use proptest::prelude::*;
use std::collections::HashSet;

const MIB: u64 = 1 << 20;
const HOUR_US: i64 = 3600 * 1_000_000;
const GC_BEFORE: i64 = 1_000_000;

fn key(token: i64) -> DecoratedKey {
    DecoratedKey::new(Token(token), Bytes::new())
}

/// A table of `size` bytes over tokens `[lo, hi]`, written at `[ts, ts]`, never expiring.
fn t(generation: u64, size: u64, level: u32, lo: i64, hi: i64) -> SsTableDescriptor {
    SsTableDescriptor {
        generation,
        size_bytes: size,
        level,
        min_key: key(lo),
        max_key: key(hi),
        min_timestamp: Timestamp(generation as i64),
        max_timestamp: Timestamp(generation as i64),
        max_local_deletion_time: i64::MAX,
        droppable_tombstone_ratio: 0.0,
    }
}

fn sized(sizes: &[u64]) -> Vec<SsTableDescriptor> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &s)| t(i as u64 + 1, s, 0, 0, 100))
        .collect()
}

fn none() -> HashSet<u64> {
    HashSet::new()
}

fn busy(gens: &[u64]) -> HashSet<u64> {
    gens.iter().copied().collect()
}

fn inputs(task: Option<CompactionTask>) -> Vec<u64> {
    let mut v = task.expect("a task").inputs;
    v.sort_unstable();
    v
}

fn stcs_opts() -> SizeTieredOptions {
    SizeTieredOptions {
        min_sstable_size_bytes: 0,
        ..SizeTieredOptions::default()
    }
}

fn stcs() -> SizeTieredStrategy {
    SizeTieredStrategy::new(stcs_opts())
}

// ---- fully_expired ----

fn expired(mut d: SsTableDescriptor, ldt: i64, ts: (i64, i64)) -> SsTableDescriptor {
    d.max_local_deletion_time = ldt;
    d.min_timestamp = Timestamp(ts.0);
    d.max_timestamp = Timestamp(ts.1);
    d
}

#[test]
fn fully_expired_needs_gc_grace_passed() {
    let tables = vec![
        expired(t(1, 10, 0, 0, 10), GC_BEFORE - 1, (5, 10)),
        expired(t(2, 10, 0, 20, 30), GC_BEFORE, (5, 10)),
    ];
    assert_eq!(
        fully_expired(&tables, GC_BEFORE, Timestamp(i64::MAX)),
        vec![1]
    );
}

#[test]
fn fully_expired_respects_overlapping_older_data() {
    let dead = expired(t(1, 10, 0, 0, 10), 0, (50, 100));
    // Live, overlapping, holding data at or before the dead table's newest write.
    let older = expired(t(2, 10, 0, 10, 20), i64::MAX, (100, 200));
    assert!(fully_expired(&[dead.clone(), older], GC_BEFORE, Timestamp(i64::MAX)).is_empty());
    // Live, overlapping, but all newer: the tombstones shadow nothing in it.
    let newer = expired(t(2, 10, 0, 10, 20), i64::MAX, (101, 200));
    assert_eq!(
        fully_expired(
            &[dead.clone(), newer.clone()],
            GC_BEFORE,
            Timestamp(i64::MAX)
        ),
        vec![1]
    );
    // Older but disjoint keys: nothing to shadow.
    let disjoint = expired(t(3, 10, 0, 11, 20), i64::MAX, (0, 200));
    assert_eq!(
        fully_expired(&[dead.clone(), disjoint], GC_BEFORE, Timestamp(i64::MAX)),
        vec![1]
    );
    // The memtable holds older data (for any key).
    assert!(fully_expired(&[dead.clone(), newer.clone()], GC_BEFORE, Timestamp(100)).is_empty());
    assert_eq!(
        fully_expired(&[dead, newer], GC_BEFORE, Timestamp(101)),
        vec![1]
    );
}

#[test]
fn dead_tables_do_not_block_each_other() {
    let a = expired(t(1, 10, 0, 0, 10), 0, (50, 100));
    let b = expired(t(2, 10, 0, 0, 10), 0, (10, 60));
    assert_eq!(
        fully_expired(&[a, b], GC_BEFORE, Timestamp(i64::MAX)),
        vec![1, 2]
    );
}

// ---- size-tiered ----

#[test]
fn stcs_needs_min_threshold_similar_tables() {
    let s = stcs();
    assert_eq!(
        s.next_task(&sized(&[100, 100, 100]), &none(), GC_BEFORE),
        None
    );
    let task = s.next_task(&sized(&[100, 110, 90, 100]), &none(), GC_BEFORE);
    assert_eq!(task.as_ref().map(|t| t.kind), Some(TaskKind::Merge));
    assert_eq!(inputs(task), vec![1, 2, 3, 4]);
}

#[test]
fn stcs_bucket_bounds() {
    let s = stcs();
    // With 160 the average is 112: 160 <= 1.5 × 112 and 100 >= 0.5 × 112.
    let task = s.next_task(&sized(&[100, 100, 100, 160]), &none(), GC_BEFORE);
    assert_eq!(inputs(task), vec![1, 2, 3, 4]);
    // With 200 the average is 125 and 200 > 187.5: only three similar tables.
    assert_eq!(
        s.next_task(&sized(&[100, 100, 100, 200]), &none(), GC_BEFORE),
        None
    );
    // The low bound: 10 is far below the others' average.
    assert_eq!(
        s.next_task(&sized(&[10, 30, 30, 30]), &none(), GC_BEFORE),
        None
    );
}

#[test]
fn stcs_small_tables_share_a_bucket() {
    let s = SizeTieredStrategy::new(SizeTieredOptions::default());
    let tables = sized(&[1, 1000, 10 * MIB, 40 * MIB, 500 * MIB]);
    assert_eq!(
        inputs(s.next_task(&tables, &none(), GC_BEFORE)),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn stcs_caps_at_max_threshold_taking_the_smallest() {
    let s = stcs();
    let sizes: Vec<u64> = (0..40).map(|i| 1000 + i).collect();
    let task = s.next_task(&sized(&sizes), &none(), GC_BEFORE);
    assert_eq!(inputs(task), (1..=32).collect::<Vec<u64>>());
}

#[test]
fn stcs_prefers_the_cheapest_bucket() {
    let s = stcs();
    let tables = sized(&[1000, 1000, 1000, 1000, 10, 10, 10, 10, 10]);
    assert_eq!(
        inputs(s.next_task(&tables, &none(), GC_BEFORE)),
        vec![5, 6, 7, 8, 9]
    );
    // Once those run, the next planner picks the other bucket.
    let task = s.next_task(&tables, &busy(&[5, 6, 7, 8, 9]), GC_BEFORE);
    assert_eq!(inputs(task), vec![1, 2, 3, 4]);
}

#[test]
fn stcs_skips_compacting_tables() {
    let s = stcs();
    let tables = sized(&[100, 100, 100, 100, 100]);
    assert_eq!(s.next_task(&tables, &busy(&[1, 2]), GC_BEFORE), None);
    assert_eq!(
        inputs(s.next_task(&tables, &busy(&[1]), GC_BEFORE)),
        vec![2, 3, 4, 5]
    );
}

#[test]
fn stcs_compacts_a_lone_table_for_tombstones_only_if_they_can_go() {
    let s = stcs();
    let mut a = t(1, 100, 0, 0, 10);
    a.droppable_tombstone_ratio = 0.5;
    assert_eq!(
        inputs(s.next_task(&[a.clone()], &none(), GC_BEFORE)),
        vec![1]
    );
    // Below the threshold: nothing.
    let mut low = a.clone();
    low.droppable_tombstone_ratio = 0.2;
    assert_eq!(s.next_task(&[low], &none(), GC_BEFORE), None);
    // An overlapping table holds older data the tombstones may shadow.
    let mut older = t(2, 100, 0, 5, 20);
    older.min_timestamp = Timestamp(0);
    assert_eq!(
        s.next_task(&[a.clone(), older.clone()], &none(), GC_BEFORE),
        None
    );
    // The same table elsewhere in the key space does not matter.
    older.min_key = key(11);
    assert_eq!(
        inputs(s.next_task(&[a.clone(), older], &none(), GC_BEFORE)),
        vec![1]
    );
    assert_eq!(s.next_task(&[a], &busy(&[1]), GC_BEFORE), None);
}

#[test]
fn stcs_drops_fully_expired_tables_first() {
    let s = stcs();
    let mut tables = sized(&[100, 100, 100, 100]);
    tables.push(expired(t(9, 100, 0, 500, 600), 0, (1, 1)));
    let task = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!((task.kind, task.inputs), (TaskKind::DropExpired, vec![9]));
    assert_eq!(
        inputs(s.next_task(&tables, &busy(&[9]), GC_BEFORE)),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn stcs_pending_and_major() {
    let s = stcs();
    let mut sizes = vec![100; 40];
    sizes.extend([10_000; 4]);
    sizes.push(1_000_000);
    let tables = sized(&sizes);
    assert_eq!(s.pending_tasks(&tables), 2 + 1);
    let major = s.major_tasks(&tables);
    assert_eq!(major.len(), 1);
    assert_eq!(major[0].kind, TaskKind::Major);
    assert_eq!(major[0].inputs.len(), 45);
    assert!(s.major_tasks(&[]).is_empty());
}

// ---- leveled ----

fn lcs() -> LeveledStrategy {
    LeveledStrategy::new(LeveledOptions {
        sstable_size_bytes: MIB,
        fanout: 10,
    })
}

#[test]
fn lcs_l0_waits_for_four_tables_then_takes_l1_overlaps() {
    let s = lcs();
    let mut tables = vec![
        t(1, MIB, 1, 0, 10),
        t(2, MIB, 1, 11, 20),
        t(3, MIB, 1, 21, 30),
        t(10, MIB, 0, 5, 15),
        t(11, MIB, 0, 6, 12),
        t(12, MIB, 0, 8, 9),
    ];
    assert_eq!(s.next_task(&tables, &none(), GC_BEFORE), None);
    tables.push(t(13, MIB, 0, 14, 14));
    let task = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!(task.output_level, 1);
    assert_eq!(task.max_output_bytes, Some(MIB));
    assert_eq!(inputs(Some(task)), vec![1, 2, 10, 11, 12, 13]);
    // An overlapping L1 table is busy: the L0 merge must wait.
    assert_eq!(s.next_task(&tables, &busy(&[2]), GC_BEFORE), None);
}

fn l1_run(n: u64, first_gen: u64) -> Vec<SsTableDescriptor> {
    (0..n)
        .map(|i| t(first_gen + i, MIB, 1, i as i64 * 100, i as i64 * 100 + 99))
        .collect()
}

#[test]
fn lcs_over_target_level_compacts_round_robin_with_overlaps() {
    let s = lcs();
    let mut tables = l1_run(12, 1); // 12 MiB in L1, target 10 MiB.
    tables.push(t(50, MIB, 2, 0, 150)); // overlaps the first two L1 tables
    tables.push(t(51, MIB, 2, 151, 250));
    let first = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!((first.kind, first.output_level), (TaskKind::Merge, 2));
    assert_eq!(inputs(Some(first)), vec![1, 50]);
    // The next pick starts after the last key compacted.
    let second = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!(inputs(Some(second)), vec![2, 50, 51]);
    let third = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!(inputs(Some(third)), vec![3, 51]);
    let fourth = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!((fourth.kind, fourth.inputs), (TaskKind::Move, vec![4]));
}

#[test]
fn lcs_skips_tables_whose_overlaps_are_busy() {
    let s = lcs();
    let mut tables = l1_run(12, 1);
    tables.push(t(50, MIB, 2, 0, 150));
    // Table 1 and 2 overlap the busy table 50; table 3 does not.
    let task = s.next_task(&tables, &busy(&[50]), GC_BEFORE).unwrap();
    assert_eq!((task.kind, task.inputs), (TaskKind::Move, vec![3]));
}

#[test]
fn lcs_picks_the_highest_score() {
    let s = lcs();
    let mut tables = l1_run(11, 1); // L1 score 1.1
    // L2: 300 tables of 1 MiB against a 100 MiB target: score 3.
    tables.extend((0..300).map(|i| t(100 + i, MIB, 2, 10_000 + i as i64, 10_000 + i as i64)));
    let task = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!(task.output_level, 3);
    assert_eq!(s.pending_tasks(&tables), 1 + 200);
}

#[test]
fn lcs_l1_output_waits_for_a_running_l0_merge() {
    let s = lcs();
    // A running L0 → L1 merge of two L0 tables far apart, with nothing in L1
    // between them: one of its outputs may span [10, 1000].
    let mut tables = vec![t(60, MIB, 0, 0, 10), t(61, MIB, 0, 1000, 1100)];
    // Four idle L0 tables in the gap.
    tables.extend((0..4).map(|i| t(70 + i, MIB, 0, 500, 600)));
    let running = busy(&[60, 61]);
    assert_eq!(s.next_task(&tables, &running, GC_BEFORE), None);
    // An over-full L1 elsewhere still makes progress into L2.
    tables.extend((0..12).map(|i| t(1 + i, MIB, 1, 2000 + i as i64 * 10, 2009 + i as i64 * 10)));
    let task = s.next_task(&tables, &running, GC_BEFORE).unwrap();
    assert_eq!(
        (task.kind, task.inputs, task.output_level),
        (TaskKind::Move, vec![1], 2)
    );
    // Once the running merge is done, the L0 tables go.
    let task = s.next_task(&tables, &none(), GC_BEFORE).unwrap();
    assert_eq!(inputs(Some(task)), vec![60, 61, 70, 71, 72, 73]);
}

#[test]
fn lcs_major_relevels_into_l1() {
    let s = lcs();
    let tables = l1_run(3, 1);
    let major = s.major_tasks(&tables);
    assert_eq!(major.len(), 1);
    assert_eq!((major[0].kind, major[0].output_level), (TaskKind::Major, 1));
    assert_eq!(major[0].max_output_bytes, Some(MIB));
}

// ---- time window ----

fn twcs() -> TimeWindowStrategy {
    TimeWindowStrategy::new(TimeWindowOptions {
        window_size_seconds: 3600,
        size_tiered: stcs_opts(),
    })
}

fn at(mut d: SsTableDescriptor, hour: i64, minute: i64) -> SsTableDescriptor {
    let ts = hour * HOUR_US + minute * 60_000_000;
    d.min_timestamp = Timestamp(ts - 1);
    d.max_timestamp = Timestamp(ts);
    d
}

#[test]
fn twcs_windows_by_newest_write() {
    let s = twcs();
    assert_eq!(s.window_of(&at(t(1, 1, 0, 0, 1), 5, 59)), 5);
    assert_eq!(s.window_of(&at(t(1, 1, 0, 0, 1), 6, 0)), 6);
    assert_eq!(s.window_of(&at(t(1, 1, 0, 0, 1), -1, 30)), -1);
}

#[test]
fn twcs_merges_old_windows_and_size_tiers_the_newest() {
    let s = twcs();
    let mut tables = vec![
        at(t(1, 100, 0, 0, 10), 1, 0),
        at(t(2, 900, 0, 0, 10), 1, 30),
        at(t(3, 100, 0, 0, 10), 2, 0),
        at(t(4, 100, 0, 0, 10), 3, 0),
        at(t(5, 100, 0, 0, 10), 3, 10),
        at(t(6, 100, 0, 0, 10), 3, 20),
    ];
    // The newest window (3) has three tables, below min_threshold: the newest
    // older window with two or more tables (1) is merged whatever the sizes.
    assert_eq!(inputs(s.next_task(&tables, &none(), GC_BEFORE)), vec![1, 2]);
    assert_eq!(s.next_task(&tables, &busy(&[1]), GC_BEFORE), None);
    tables.push(at(t(7, 100, 0, 0, 10), 3, 30));
    assert_eq!(
        inputs(s.next_task(&tables, &none(), GC_BEFORE)),
        vec![4, 5, 6, 7]
    );
    assert_eq!(s.pending_tasks(&tables), 2);
    let majors = s.major_tasks(&tables);
    assert_eq!(majors.len(), 3);
    assert!(majors.iter().all(|m| m.kind == TaskKind::Major));
}

#[test]
fn twcs_drops_expired_windows() {
    let s = twcs();
    let old = expired(at(t(1, 100, 0, 0, 10), 1, 0), 5, (0, HOUR_US));
    let newer = at(t(2, 100, 0, 0, 10), 9, 0);
    let task = s
        .next_task(&[old.clone(), newer.clone()], &none(), GC_BEFORE)
        .unwrap();
    assert_eq!((task.kind, task.inputs), (TaskKind::DropExpired, vec![1]));
    // Not yet past gc grace.
    assert_eq!(s.next_task(&[old, newer], &none(), 5), None);
}

// ---- properties ----

fn arb_tables() -> impl Strategy<Value = (Vec<SsTableDescriptor>, HashSet<u64>)> {
    let one = (
        1u64..5000,
        0u32..4,
        -50i64..50,
        0i64..40,
        0i64..5 * HOUR_US,
        prop::bool::weighted(0.1),
        0.0f64..0.6,
    );
    (prop::collection::vec((one, any::<bool>()), 0..40)).prop_map(|v| {
        let mut compacting = HashSet::new();
        let tables = v
            .into_iter()
            .enumerate()
            .map(|(i, ((size, level, lo, len, ts, dead, ratio), busy))| {
                let generation = i as u64 + 1;
                if busy && i % 3 == 0 {
                    compacting.insert(generation);
                }
                let mut d = t(generation, size, level, lo, lo + len);
                d.min_timestamp = Timestamp(ts - HOUR_US);
                d.max_timestamp = Timestamp(ts);
                d.max_local_deletion_time = if dead { 0 } else { i64::MAX };
                d.droppable_tombstone_ratio = ratio;
                d
            })
            .collect();
        (tables, compacting)
    })
}

fn check_task(
    task: &CompactionTask,
    tables: &[SsTableDescriptor],
    compacting: &HashSet<u64>,
) -> Result<(), TestCaseError> {
    let known: HashSet<u64> = tables.iter().map(|t| t.generation).collect();
    let unique: HashSet<u64> = task.inputs.iter().copied().collect();
    prop_assert!(!task.inputs.is_empty());
    prop_assert_eq!(unique.len(), task.inputs.len(), "duplicate inputs");
    prop_assert!(unique.is_subset(&known), "unknown input in {:?}", task);
    prop_assert!(
        unique.is_disjoint(compacting),
        "compacting input in {:?}",
        task
    );
    Ok(())
}

proptest! {
    #[test]
    fn tasks_use_only_known_idle_tables((tables, compacting) in arb_tables()) {
        let strategies: [Box<dyn CompactionStrategy>; 3] =
            [Box::new(stcs()), Box::new(lcs()), Box::new(twcs())];
        for s in &strategies {
            if let Some(task) = s.next_task(&tables, &compacting, GC_BEFORE) {
                check_task(&task, &tables, &compacting)?;
            }
            for task in s.major_tasks(&tables) {
                check_task(&task, &tables, &HashSet::new())?;
            }
        }
    }

    #[test]
    fn stcs_inputs_respect_bucket_bounds(
        sizes in prop::collection::vec(1u64..10_000, 0..60),
        min_size in prop_oneof![Just(0u64), 1u64..3000],
    ) {
        let opts = SizeTieredOptions { min_sstable_size_bytes: min_size, ..stcs_opts() };
        let s = SizeTieredStrategy::new(opts.clone());
        let tables = sized(&sizes);
        if let Some(task) = s.next_task(&tables, &HashSet::new(), GC_BEFORE) {
            prop_assert!((opts.min_threshold..=opts.max_threshold).contains(&task.inputs.len()));
            let size = |g: &u64| {
                let t = &tables[*g as usize - 1];
                t.size_bytes.max(min_size) as f64
            };
            let avg = task.inputs.iter().map(size).sum::<f64>() / task.inputs.len() as f64;
            for g in &task.inputs {
                prop_assert!(size(g) >= opts.bucket_low * avg && size(g) <= opts.bucket_high * avg);
            }
        }
    }

    #[test]
    fn stcs_merges_tables_within_a_fifth_of_each_other(
        base in 1u64..1_000_000,
        spread in prop::collection::vec(0u64..=200, 4..50),
    ) {
        let sizes: Vec<u64> = spread.iter().map(|s| base + base * s / 1000).collect();
        let task = stcs().next_task(&sized(&sizes), &HashSet::new(), GC_BEFORE);
        prop_assert_eq!(task.map(|t| t.inputs.len()), Some(sizes.len().min(32)));
    }

    #[test]
    fn lcs_levels_stay_disjoint_under_concurrent_tasks(ops in prop::collection::vec(0u8..4, 1..150)) {
        lcs_model(&ops)?;
    }
}

/// Applies `task` to `tables` the way an executor would, modelling outputs:
/// a merge writes its inputs' bytes as tables of at most `max_output_bytes`
/// that evenly split the inputs' key hull.
fn apply(tables: &mut Vec<SsTableDescriptor>, task: &CompactionTask, next_gen: &mut u64) {
    let (ins, rest): (Vec<_>, Vec<_>) = tables
        .drain(..)
        .partition(|t| task.inputs.contains(&t.generation));
    *tables = rest;
    match task.kind {
        TaskKind::DropExpired => {}
        TaskKind::Move => tables.extend(ins.into_iter().map(|mut t| {
            t.level = task.output_level;
            t
        })),
        TaskKind::Merge | TaskKind::Major => {
            let bytes: u64 = ins.iter().map(|t| t.size_bytes).sum();
            let lo = ins.iter().map(|t| t.min_key.token.0).min().unwrap();
            let hi = ins.iter().map(|t| t.max_key.token.0).max().unwrap();
            let n = task
                .max_output_bytes
                .map_or(1, |m| bytes.div_ceil(m))
                .max(1) as i64;
            let n = n.min(hi - lo + 1);
            let width = (hi - lo + 1) / n;
            for i in 0..n {
                let start = lo + i * width;
                let end = if i == n - 1 { hi } else { start + width - 1 };
                tables.push(t(
                    *next_gen,
                    bytes / n as u64,
                    task.output_level,
                    start,
                    end,
                ));
                *next_gen += 1;
            }
        }
    }
}

fn assert_levels_disjoint(tables: &[SsTableDescriptor]) -> Result<(), TestCaseError> {
    for a in tables.iter().filter(|t| t.level >= 1) {
        for b in tables
            .iter()
            .filter(|t| t.level == a.level && t.generation != a.generation)
        {
            prop_assert!(!a.overlaps(b), "L{} overlap: {:?} {:?}", a.level, a, b);
        }
    }
    Ok(())
}

/// Ops: 0, 1 flush a table; 2 starts a task; 3 finishes the oldest running task.
fn lcs_model(ops: &[u8]) -> Result<(), TestCaseError> {
    let s = lcs();
    let mut tables = Vec::new();
    let mut running: Vec<CompactionTask> = Vec::new();
    let mut next_gen = 1u64;
    for (i, op) in ops.iter().enumerate() {
        match op {
            0 | 1 => {
                let lo = (i as i64 * 7919) % 1000;
                tables.push(t(next_gen, 3 * MIB, 0, lo, lo + 200));
                next_gen += 1;
            }
            2 => {
                let compacting = running.iter().flat_map(|t| t.inputs.clone()).collect();
                if let Some(task) = s.next_task(&tables, &compacting, GC_BEFORE) {
                    check_task(&task, &tables, &compacting)?;
                    running.push(task);
                }
            }
            _ => {
                if !running.is_empty() {
                    let task = running.remove(0);
                    apply(&mut tables, &task, &mut next_gen);
                    assert_levels_disjoint(&tables)?;
                }
            }
        }
    }
    for task in running {
        apply(&mut tables, &task, &mut next_gen);
        assert_levels_disjoint(&tables)?;
    }
    Ok(())
}
