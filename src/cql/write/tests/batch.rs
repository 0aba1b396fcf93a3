//! Batches: merged per partition, shared markers, USING, guardrails, write types.

use super::*;
use crate::cql::write::batch::{data_size, merge, pretty_size};

#[tokio::test]
async fn a_batch_merges_its_writes_per_partition() {
    let h = Harness::new();
    h.ok("BEGIN BATCH \
         INSERT INTO wide (k, c, v) VALUES (1, 1, 1); \
         UPDATE wide SET v = 2 WHERE k = 1 AND c = 2; \
         UPDATE wide SET st = 7 WHERE k = 1; \
         INSERT INTO kv (k, l) VALUES (1, [1]); \
         UPDATE kv SET l = l + [2] WHERE k = 1; \
         UPDATE kv SET l = l + [3] WHERE k = 1; \
         DELETE FROM kv WHERE k = 2 \
         APPLY BATCH")
        .await;
    let (mutations, write_type) = h.writes().pop().unwrap();
    assert_eq!(write_type, WriteType::Batch);
    assert_eq!(mutations.len(), 3, "wide/1, kv/1 and kv/2: {mutations:#?}");
    let wide = mutations
        .iter()
        .find(|m| m.table == h.table("wide").table_id())
        .unwrap();
    assert_eq!(wide.rows.len(), 2);
    assert!(wide.static_row.is_some());
    // Three list writes at one timestamp keep distinct elements, in statement order.
    assert_eq!(h.value("kv", 1, "l").await, Some(ints(&[1, 2, 3])));
    assert_eq!(h.value("wide", 1, "st").await, Some(int(7)));
}

#[tokio::test]
async fn batch_markers_are_shared_in_text_order_and_using_timestamp_applies_to_all() {
    let h = Harness::new();
    let stmt = cql_lite::parse(
        "BEGIN UNLOGGED BATCH USING TIMESTAMP ? \
         INSERT INTO kv (k, v) VALUES (?, ?); \
         UPDATE kv SET t = ? WHERE k = ? \
         APPLY BATCH",
    )
    .unwrap();
    let ast::Statement::Batch(batch) = stmt else {
        panic!("not a batch")
    };
    let mut markers = Markers::default();
    let plan = BatchPlan::prepare(&h.schema, Some("ks"), &batch, &mut markers).unwrap();
    let names: Vec<&str> = markers.specs().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["[timestamp]", "k", "v", "t", "k"]);
    assert_eq!(plan.parts().len(), 2);
    assert_eq!(plan.parts()[1].pk_indexes(), [4]);
    let values = [
        val(&CqlType::Bigint, &CqlValue::Bigint(77)),
        val(&CqlType::Int, &int(1)),
        val(&CqlType::Int, &int(2)),
        val(&CqlType::Text, &text("x")),
        val(&CqlType::Int, &int(1)),
    ];
    let parts: Vec<(&WritePlan, &[Value])> =
        plan.parts().iter().map(|p| (p, &values[..])).collect();
    execute_batch(&h.ctx(), plan.kind(), &parts).await.unwrap();
    let (mutations, write_type) = h.writes().pop().unwrap();
    assert_eq!(write_type, WriteType::UnloggedBatch);
    assert_eq!(mutations.len(), 1);
    let row = &mutations[0].rows[0];
    assert!(row.cells.iter().all(|c| c.cell.timestamp.0 == 77));
    assert_eq!(row.liveness.unwrap().timestamp.0, 77);
}

#[tokio::test]
async fn batch_level_ttl_counters_and_double_timestamps_are_refused() {
    let h = Harness::new();
    let cases = [
        (
            "BEGIN BATCH USING TIMESTAMP 1 INSERT INTO kv (k) VALUES (1) USING TIMESTAMP 2; APPLY BATCH",
            "Timestamp must be set either on BATCH or individual statements",
        ),
        (
            "BEGIN BATCH USING TTL 5 INSERT INTO kv (k) VALUES (1); APPLY BATCH",
            "Global TTL on the BATCH statement is not supported.",
        ),
        (
            "BEGIN COUNTER BATCH UPDATE kv SET v = 1 WHERE k = 1; APPLY BATCH",
            "counters not supported",
        ),
        (
            "BEGIN BATCH UPDATE kv SET v = 1 WHERE k = 1 IF v = 0; APPLY BATCH",
            "Conditional updates are not supported",
        ),
    ];
    for (cql, expected) in cases {
        let ast::Statement::Batch(batch) = cql_lite::parse(cql).unwrap() else {
            panic!("not a batch: {cql}");
        };
        let e =
            BatchPlan::prepare(&h.schema, Some("ks"), &batch, &mut Markers::default()).unwrap_err();
        assert!(e.message.contains(expected), "{cql}: {}", e.message);
    }
    let e = execute_batch(&h.ctx(), ast::BatchKind::Counter, &[])
        .await
        .unwrap_err();
    assert!(e.message.contains("counters not supported"));
}

fn batch_of(partitions: std::ops::Range<i32>, text_len: usize) -> String {
    let body: String = partitions
        .map(|k| {
            format!(
                "INSERT INTO kv (k, t) VALUES ({k}, '{}'); ",
                "x".repeat(text_len)
            )
        })
        .collect();
    format!("BEGIN BATCH {body} APPLY BATCH")
}

#[tokio::test]
async fn batch_size_guardrails_warn_then_fail() {
    let mut h = Harness::new();
    let small = h.run(&batch_of(0..2, 10), &[]).await.unwrap();
    assert!(small.warnings.is_empty());
    // Two partitions with a 3,000-byte cell each: over 5 KiB.
    let big = h.run(&batch_of(0..2, 3000), &[]).await.unwrap();
    assert_eq!(big.warnings.len(), 1, "{:?}", big.warnings);
    let w = &big.warnings[0];
    assert!(w.starts_with("Batch for [ks.kv] is of size 5.9KiB, exceeding specified threshold of 5.0KiB by 0.9KiB."), "{w}");
    // One partition is exempt, as in Cassandra: it applies atomically anyway.
    let single = h
        .run(
            &format!(
                "BEGIN BATCH INSERT INTO kv (k, t) VALUES (1, '{}'); APPLY BATCH",
                "x".repeat(9000)
            ),
            &[],
        )
        .await
        .unwrap();
    assert!(single.warnings.is_empty());
    h.guardrails.batch_size_fail_bytes = 6000;
    let writes = h.writes().len();
    let e = h.err(&batch_of(0..3, 3000), &[]).await;
    assert!(e.starts_with("Batch too large"), "{e}");
    assert_eq!(h.writes().len(), writes, "nothing was written");
}

#[tokio::test]
async fn unlogged_batches_over_many_partitions_warn() {
    let h = Harness::new();
    let body: String = (0..11)
        .map(|k| format!("INSERT INTO kv (k, v) VALUES ({k}, 1); "))
        .collect();
    let out = h
        .run(&format!("BEGIN UNLOGGED BATCH {body} APPLY BATCH"), &[])
        .await
        .unwrap();
    assert_eq!(
        out.warnings,
        [
            "Unlogged batch covering 11 partitions detected against table [ks.kv]. You should use a logged batch for atomicity, or asynchronous writes for performance."
        ]
    );
}

#[test]
fn sizes_print_like_cassandra() {
    assert_eq!(pretty_size(6349), "6.2KiB");
    assert_eq!(pretty_size(5 << 10), "5.0KiB");
    assert_eq!(pretty_size(1229), "1.2KiB");
    assert_eq!(pretty_size(3 << 20), "3.0MiB");
}

#[tokio::test]
async fn merging_keeps_the_newest_version_of_each_cell() {
    let h = Harness::new();
    let mut all = h
        .mutations(
            "UPDATE kv USING TIMESTAMP 5 SET v = 1, t = 'a' WHERE k IN (1, 2)",
            &[],
        )
        .await
        .unwrap();
    all.extend(
        h.mutations("UPDATE kv USING TIMESTAMP 3 SET v = 9 WHERE k = 1", &[])
            .await
            .unwrap(),
    );
    all.extend(
        h.mutations("DELETE FROM kv USING TIMESTAMP 4 WHERE k = 2", &[])
            .await
            .unwrap(),
    );
    let size: usize = all.iter().map(data_size).sum();
    let merged = merge(all);
    assert_eq!(merged.len(), 2);
    for m in &merged {
        m.validate().unwrap();
        let v = &m.rows[0].cells[1];
        assert_eq!(v.cell.timestamp.0, 5, "the newer value wins");
    }
    assert!(merged.iter().any(|m| m.partition_deletion.is_some()));
    assert!(merged.iter().map(data_size).sum::<usize>() < size);
}
