use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use storage::ManualClock;

use super::*;

const EXAMPLE: &str = include_str!("../../deploy/basalt.example.yaml");

/// The problems `yaml` has (panics if it is valid).
fn problems(yaml: &str) -> Vec<String> {
    Config::from_yaml_str(yaml).unwrap_err().problems
}

/// Asserts `yaml` has exactly one problem, starting with `prefix`.
fn assert_one_problem(yaml: &str, prefix: &str) {
    let problems = problems(yaml);
    assert_eq!(problems.len(), 1, "{yaml}: {problems:?}");
    assert!(problems[0].starts_with(prefix), "{yaml}: {problems:?}");
}

#[test]
fn empty_document_is_the_default_single_local_node() {
    let config = Config::from_yaml_str("").unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.cluster_name, "Test Cluster");
    assert_eq!(config.listen_address.to_string(), "127.0.0.1");
    assert_eq!(config.rpc_address.to_string(), "127.0.0.1");
    assert_eq!(
        (
            config.native_transport_port,
            config.storage_port,
            config.admin_port
        ),
        (9042, 7000, 7199)
    );
    assert_eq!(config.commitlog_sync, CommitLogSync::Group);
    assert_eq!(
        (
            config.batch_size_warn_threshold,
            config.batch_size_fail_threshold
        ),
        (5, 50)
    );
    assert_eq!(config.num_tokens, 16);
    assert_eq!(
        (
            config.read_request_timeout,
            config.write_request_timeout,
            config.range_request_timeout
        ),
        (5_000, 2_000, 10_000)
    );
}

#[test]
fn defaults_match_the_engine_defaults() {
    let clock = Arc::new(ManualClock::new(0));
    let ours = Config::default().engine_options(clock.clone());
    let engine = EngineOptions::new("./basalt-data/data", clock);
    assert_eq!(ours.memtable_budget_bytes, engine.memtable_budget_bytes);
    assert_eq!(ours.compaction_threads, engine.compaction_threads);
    assert_eq!(
        ours.compaction_throughput_mib_per_s,
        engine.compaction_throughput_mib_per_s
    );
    assert_eq!(
        ours.commitlog.segment_size_bytes,
        engine.commitlog.segment_size_bytes
    );
    assert_eq!(ours.commitlog.sync, engine.commitlog.sync);
    assert_eq!(ours.data_dir, engine.data_dir);
    assert_eq!(ours.commitlog.dir, PathBuf::from("./basalt-data/commitlog"));
}

#[test]
fn engine_options_follow_the_configuration() {
    let config = Config::from_yaml_str(
        "commitlog_sync: periodic\ncommitlog_sync_period: 250\nmemtable_space: 2\n\
         commitlog_segment_size: 4\nconcurrent_compactors: 3\ncompaction_throughput: 0",
    )
    .unwrap();
    let options = config.engine_options(Arc::new(ManualClock::new(0)));
    assert_eq!(
        options.commitlog.sync,
        SyncMode::Periodic { interval_ms: 250 }
    );
    assert_eq!(options.memtable_budget_bytes, 2 << 20);
    assert_eq!(options.commitlog.segment_size_bytes, 4 << 20);
    assert_eq!(options.compaction_threads, 3);
    assert_eq!(options.compaction_throughput_mib_per_s, 0);
    assert_eq!(
        options.commitlog_total_space_bytes,
        storage::commitlog::default_total_space(Path::new("./basalt-data/commitlog")),
        "no commitlog_total_space: Cassandra's default for the log's volume"
    );
    let bounded = Config::from_yaml_str("commitlog_total_space: 1024").unwrap();
    let options = bounded.engine_options(Arc::new(ManualClock::new(0)));
    assert_eq!(options.commitlog_total_space_bytes, 1 << 30);
    let zero = Config::from_yaml_str("commitlog_total_space: 0").unwrap_err();
    assert!(zero.problems[0].contains("commitlog_total_space"), "{zero}");
    let batch = Config::from_yaml_str("commitlog_sync: BATCH").unwrap();
    let options = batch.engine_options(Arc::new(ManualClock::new(0)));
    assert_eq!(options.commitlog.sync, SyncMode::Batch);
}

#[test]
fn example_file_is_the_default_configuration() {
    // The example deliberately repeats every default, so that copying it and
    // editing one line changes exactly that line's setting.
    assert_eq!(Config::from_yaml_str(EXAMPLE).unwrap(), Config::default());
}

#[test]
fn example_file_documents_every_key() {
    for key in Config::known_keys() {
        let set = EXAMPLE.lines().any(|l| l.starts_with(&format!("{key}:")));
        let mentioned = EXAMPLE.contains(key);
        assert!(
            set || mentioned,
            "deploy/basalt.example.yaml does not mention `{key}`"
        );
        if key != RPC_ADDRESS_ALIAS {
            assert!(set, "deploy/basalt.example.yaml does not set `{key}`");
        }
    }
}

#[test]
fn rendered_yaml_reads_back_unchanged() {
    let config = Config::from_yaml_str("cluster_name: '1'\nseeds: ['a:7000', 10.0.0.1]").unwrap();
    assert_eq!(Config::from_yaml_str(&config.to_yaml()).unwrap(), config);
    let default = Config::default();
    assert_eq!(Config::from_yaml_str(&default.to_yaml()).unwrap(), default);
}

#[test]
fn unknown_keys_are_reported_by_name() {
    let problems = problems("foo: 1\nnum_tokens: 8\nhints_directory: /h\n");
    assert_eq!(
        problems,
        ["unknown key `foo`", "unknown key `hints_directory`"]
    );
}

#[test]
fn misspelt_keys_get_a_suggestion() {
    // Cassandra's name for the memtable budget points at ours.
    assert_eq!(
        problems("memtable_heap_space: 2048"),
        ["unknown key `memtable_heap_space` (did you mean `memtable_space`?)"]
    );
    assert_eq!(
        problems("native_transport_prot: 9042"),
        ["unknown key `native_transport_prot` (did you mean `native_transport_port`?)"]
    );
}

#[test]
fn every_problem_is_reported_together() {
    let yaml = "cluster_name: ''\nnative_transport_port: 0\nstorage_port: 70000\n\
                commitlog_sync: sometimes\nmemtable_space: 0\ndata_file_directories: []\n\
                tombstone_warn_threshold: 200000\nbogus: true\n";
    let err = Config::from_yaml_str(yaml).unwrap_err();
    assert_eq!(
        err.problems,
        [
            "cluster_name: must not be empty",
            "native_transport_port: must be between 1 and 65535, got 0",
            "storage_port: must be between 1 and 65535, got 70000",
            "commitlog_sync: expected one of periodic, batch, group, got the string `sometimes`",
            "memtable_space: must be between 1 and 1048576, got 0",
            "unknown key `bogus`",
            "data_file_directories: must name a directory",
            "tombstone_warn_threshold: 200000 is above tombstone_failure_threshold (100000)",
        ]
    );
    // One problem per line, after a line naming the source.
    let text = err.to_string();
    assert_eq!(text.lines().count(), 1 + err.problems.len());
    assert!(text.starts_with("invalid configuration in <string>:\n  cluster_name:"));
}

#[test]
fn ports_must_be_between_1_and_65535() {
    for key in ["native_transport_port", "storage_port", "admin_port"] {
        assert_one_problem(
            &format!("{key}: 0"),
            &format!("{key}: must be between 1 and 65535"),
        );
        assert_one_problem(
            &format!("{key}: 65536"),
            &format!("{key}: must be between 1 and 65535"),
        );
        assert_one_problem(
            &format!("{key}: -1"),
            &format!("{key}: must be between 1 and 65535"),
        );
        assert_one_problem(
            &format!("{key}: '9042'"),
            &format!("{key}: expected an integer"),
        );
    }
    assert!(Config::from_yaml_str("native_transport_port: 65535").is_ok());
}

#[test]
fn ports_must_differ() {
    assert_one_problem("admin_port: 7000", "storage_port: 7000 is also admin_port");
    // A port that is itself invalid does not also clash.
    assert_one_problem("admin_port: x", "admin_port: expected an integer");
}

#[test]
fn strings_must_be_non_empty_strings() {
    for key in ["cluster_name", "commitlog_directory", "dc", "rack"] {
        assert_one_problem(&format!("{key}: ''"), &format!("{key}: must not be empty"));
        assert_one_problem(
            &format!("{key}: '  '"),
            &format!("{key}: must not be empty"),
        );
        assert_one_problem(
            &format!("{key}: 5"),
            &format!("{key}: expected a string, got the number 5"),
        );
        assert_one_problem(
            &format!("{key}: [a]"),
            &format!("{key}: expected a string, got a list"),
        );
    }
}

#[test]
fn addresses_must_be_ip_literals() {
    let config = Config::from_yaml_str("listen_address: '::1'\nrpc_address: 10.1.2.3").unwrap();
    assert_eq!(config.listen_address.to_string(), "::1");
    assert_eq!(config.rpc_address.to_string(), "10.1.2.3");
    assert_one_problem(
        "listen_address: localhost",
        "listen_address: expected an IP address",
    );
    assert_one_problem(
        "rpc_address: 300.1.1.1",
        "rpc_address: expected an IP address",
    );
}

#[test]
fn native_transport_address_is_an_alias_of_rpc_address() {
    let config = Config::from_yaml_str("native_transport_address: 10.0.0.9").unwrap();
    assert_eq!(config.rpc_address.to_string(), "10.0.0.9");
    assert_one_problem(
        "native_transport_address: 10.0.0.9\nrpc_address: 10.0.0.9",
        "native_transport_address: is another name for rpc_address",
    );
    // An override of one spelling replaces the file's other spelling.
    let overrides = [Override::text("rpc_address", "10.0.0.7")];
    let config =
        Config::from_yaml_str_with_overrides("native_transport_address: 10.0.0.9", "t", &overrides)
            .unwrap();
    assert_eq!(config.rpc_address.to_string(), "10.0.0.7");
}

#[test]
fn sizes_must_not_be_zero() {
    for key in [
        "commitlog_segment_size",
        "memtable_space",
        "native_transport_max_frame_size",
        "native_transport_max_concurrent_requests_per_connection",
        "native_transport_max_concurrent_connections",
        "batch_size_warn_threshold",
        "prepared_statements_cache_size",
        "concurrent_compactors",
        "num_tokens",
        "commitlog_sync_period",
        "read_request_timeout",
        "write_request_timeout",
        "range_request_timeout",
        "tombstone_warn_threshold",
        "native_transport_handshake_timeout",
    ] {
        assert_one_problem(
            &format!("{key}: 0"),
            &format!("{key}: must be between 1 and"),
        );
    }
    // Zero is meaningful for these two: unlimited, and no group window.
    let config =
        Config::from_yaml_str("compaction_throughput: 0\ncommitlog_sync_group_window_us: 0");
    assert!(config.is_ok());
}

#[test]
fn connection_limits_and_timeouts_read_as_cassandra_writes_them() {
    let yaml = "native_transport_max_concurrent_connections_per_ip: -1\n\
                native_transport_handshake_timeout: 2500\n\
                native_transport_idle_timeout: 60000";
    let config = Config::from_yaml_str(yaml).unwrap();
    assert_eq!(
        config.native_transport_max_concurrent_connections_per_ip,
        -1
    );
    assert_eq!(config.native_transport_handshake_timeout, 2_500);
    assert_eq!(config.native_transport_idle_timeout, 60_000);
    // Zero turns the idle timeout off; for the per-address limit it would refuse
    // every client, and below -1 means nothing.
    assert!(Config::from_yaml_str("native_transport_idle_timeout: 0").is_ok());
    assert_one_problem(
        "native_transport_max_concurrent_connections_per_ip: 0",
        "native_transport_max_concurrent_connections_per_ip: must be -1 (no limit) or at least 1",
    );
    assert_one_problem(
        "native_transport_max_concurrent_connections_per_ip: -2",
        "native_transport_max_concurrent_connections_per_ip: must be between -1 and",
    );
    assert_one_problem(
        "native_transport_idle_timeout: 86400001",
        "native_transport_idle_timeout: must be between 0 and",
    );
}

#[test]
fn upper_bounds_are_enforced() {
    for (key, value) in [
        ("native_transport_max_frame_size", 257),
        (
            "native_transport_max_concurrent_requests_per_connection",
            32_769,
        ),
        ("num_tokens", 1537),
        ("commitlog_segment_size", 1025),
        ("concurrent_compactors", 65),
        ("read_request_timeout", 3_600_001),
    ] {
        assert_one_problem(
            &format!("{key}: {value}"),
            &format!("{key}: must be between"),
        );
    }
}

#[test]
fn integers_reject_other_types() {
    assert_one_problem(
        "num_tokens: 1.5",
        "num_tokens: expected an integer, got the number 1.5",
    );
    assert_one_problem(
        "num_tokens: true",
        "num_tokens: expected an integer, got the boolean true",
    );
    assert_one_problem(
        "num_tokens: {a: 1}",
        "num_tokens: expected an integer, got a mapping",
    );
}

#[test]
fn warn_thresholds_must_not_exceed_fail_thresholds() {
    assert_one_problem(
        "batch_size_warn_threshold: 51",
        "batch_size_warn_threshold: 51 KiB is above batch_size_fail_threshold (50 KiB)",
    );
    assert_one_problem(
        "tombstone_failure_threshold: 999",
        "tombstone_warn_threshold: 1000 is above tombstone_failure_threshold (999)",
    );
    assert!(Config::from_yaml_str("batch_size_warn_threshold: 50").is_ok());
    // A threshold that failed to parse is not also compared with its default.
    assert_one_problem(
        "batch_size_warn_threshold: 60\nbatch_size_fail_threshold: lots",
        "batch_size_fail_threshold: expected an integer",
    );
}

#[test]
fn data_file_directories_needs_exactly_one_directory() {
    assert_one_problem(
        "data_file_directories: []",
        "data_file_directories: must name a directory",
    );
    assert_one_problem(
        "data_file_directories: [/a, /b]",
        "data_file_directories: the engine stores data in one directory",
    );
    assert_one_problem(
        "data_file_directories: /a",
        "data_file_directories: expected a list",
    );
    assert_one_problem(
        "data_file_directories: ['']",
        "data_file_directories: item 0 must not be empty",
    );
    assert_one_problem(
        "data_file_directories: [[a]]",
        "data_file_directories: item 0: expected a string",
    );
    let config = Config::from_yaml_str("data_file_directories: [/srv/data]").unwrap();
    assert_eq!(config.data_file_directories, [PathBuf::from("/srv/data")]);
}

#[test]
fn seeds_must_be_addresses() {
    let ok = "seeds: [10.0.0.1, '10.0.0.2:7001', '[::1]:7000', '::1', node-3.example:7000, node4]";
    assert_eq!(Config::from_yaml_str(ok).unwrap().seeds.len(), 6);
    assert_one_problem("seeds: []", "seeds: must name at least one node");
    assert_one_problem("seeds: ['10.0.0.1:0']", "seeds: `10.0.0.1:0` has port 0");
    assert_one_problem(
        "seeds: ['host:99999']",
        "seeds: `host:99999` has a port that is not",
    );
    assert_one_problem("seeds: ['a b']", "seeds: `a b` is not an address");
    assert_one_problem("seeds: 10.0.0.1", "seeds: expected a list");
    let two = problems("seeds: [':1', 'x:0']");
    assert_eq!(two.len(), 2, "{two:?}");
}

#[test]
fn enums_accept_only_their_names() {
    for (name, mode) in [
        ("periodic", CommitLogSync::Periodic),
        ("batch", CommitLogSync::Batch),
        ("Group", CommitLogSync::Group),
    ] {
        let config = Config::from_yaml_str(&format!("commitlog_sync: {name}")).unwrap();
        assert_eq!(config.commitlog_sync, mode);
    }
    assert_one_problem(
        "commitlog_sync: 1",
        "commitlog_sync: expected one of periodic, batch, group",
    );
    let gpfs = "endpoint_snitch: org.apache.cassandra.locator.GossipingPropertyFileSnitch";
    let config = Config::from_yaml_str(gpfs).unwrap();
    assert_eq!(
        config.endpoint_snitch,
        EndpointSnitch::GossipingPropertyFileSnitch
    );
    assert_one_problem(
        "endpoint_snitch: Ec2Snitch",
        "endpoint_snitch: expected one of SimpleSnitch",
    );
}

#[test]
fn phi_convict_threshold_is_a_number_in_range() {
    let config = Config::from_yaml_str("phi_convict_threshold: 10.5").unwrap();
    assert_eq!(config.phi_convict_threshold, 10.5);
    assert_one_problem(
        "phi_convict_threshold: 0.5",
        "phi_convict_threshold: must be between 1 and 32",
    );
    assert_one_problem(
        "phi_convict_threshold: .nan",
        "phi_convict_threshold: must be between",
    );
    assert_one_problem(
        "phi_convict_threshold: high",
        "phi_convict_threshold: expected a number",
    );
}

#[test]
fn null_keeps_the_default() {
    let config = Config::from_yaml_str("num_tokens:\ncluster_name: ~\n").unwrap();
    assert_eq!(config, Config::default());
}

#[test]
fn the_document_must_be_a_mapping_of_string_keys() {
    assert_one_problem("- a\n- b", "the document must be a mapping");
    assert_one_problem("num_tokens: [", "not valid YAML");
    assert_one_problem("1: a", "keys must be strings, got the number 1");
}

#[test]
fn overrides_win_over_the_file_and_are_validated_with_it() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "cluster_name: From File\nnum_tokens: 4\nstorage_port: 7001"
    )
    .unwrap();
    let overrides = [
        Override::parse("num_tokens=32").unwrap(),
        Override::text("cluster_name", "From Flags"),
    ];
    let config = Config::load_with_overrides(Some(file.path()), &overrides).unwrap();
    assert_eq!(config.cluster_name, "From Flags");
    assert_eq!(config.num_tokens, 32);
    assert_eq!(
        config.storage_port, 7001,
        "keys without an override keep the file's value"
    );
    assert_eq!(Config::load(file.path()).unwrap().num_tokens, 4);

    let bad = [
        Override::parse("num_tokens=0").unwrap(),
        Override::parse("nope=1").unwrap(),
        Override::yaml("seeds", "[unclosed"),
    ];
    let err = Config::load_with_overrides(Some(file.path()), &bad).unwrap_err();
    assert_eq!(err.origin, file.path().display().to_string());
    assert_eq!(err.problems.len(), 3, "{:?}", err.problems);
    assert!(err.problems[0].starts_with("seeds: the value `[unclosed` is not valid YAML"));
    assert!(err.problems[1].starts_with("num_tokens: must be between 1 and 1536, got 0"));
    assert_eq!(err.problems[2], "unknown key `nope`");
}

#[test]
fn override_parse_needs_a_key_and_an_equals_sign() {
    assert!(Override::parse("num_tokens").is_err());
    assert!(Override::parse("=5").is_err());
    let o = Override::parse(" seeds = [a, b] ").unwrap();
    assert_eq!(o.key(), "seeds");
    let config = Config::from_yaml_str_with_overrides("", "t", &[o]).unwrap();
    assert_eq!(config.seeds, ["a", "b"]);
}

#[test]
fn missing_file_is_reported_with_its_path() {
    let err = Config::load(Path::new("/nonexistent/basalt.yaml")).unwrap_err();
    assert_eq!(err.origin, "/nonexistent/basalt.yaml");
    assert!(err.problems[0].starts_with("cannot read the file"));
}

#[test]
fn no_file_means_the_defaults() {
    assert_eq!(
        Config::load_with_overrides(None, &[]).unwrap(),
        Config::default()
    );
}

#[test]
fn hint_settings_and_the_clock_offset_are_read_and_checked() {
    let config = Config::from_yaml_str(
        "hinted_handoff_enabled: false\nmax_hint_window: 60000\n\
         hinted_handoff_throttle: 64\nhints_flush_period: 500\nclock_offset: -2500",
    )
    .unwrap();
    assert!(!config.hinted_handoff_enabled);
    assert_eq!(
        (
            config.max_hint_window,
            config.hinted_handoff_throttle,
            config.hints_flush_period,
            config.clock_offset
        ),
        (60_000, 64, 500, -2_500)
    );
    let defaults = Config::default();
    assert!(defaults.hinted_handoff_enabled);
    assert_eq!(defaults.max_hint_window, 10_800_000);
    assert_one_problem(
        "hinted_handoff_enabled: maybe",
        "hinted_handoff_enabled: expected true or false",
    );
    assert_one_problem(
        "hinted_handoff_throttle: 0",
        "hinted_handoff_throttle: must be between 1",
    );
    assert_one_problem(
        "max_hint_window: 700000000",
        "max_hint_window: must be between 0",
    );
    assert_one_problem("clock_offset: 86400001", "clock_offset: must be between");
}

#[test]
fn the_clock_skew_warning_threshold_is_read_and_checked() {
    assert_eq!(Config::default().clock_skew_warn_threshold, 1000);
    let config = Config::from_yaml_str("clock_skew_warn_threshold: 250").unwrap();
    assert_eq!(config.clock_skew_warn_threshold, 250);
    assert_one_problem(
        "clock_skew_warn_threshold: 0",
        "clock_skew_warn_threshold: must be between",
    );
}

#[test]
fn client_timestamp_lead_thresholds_parse_and_zero_disables() {
    let config = Config::from_yaml_str(
        "client_timestamp_lead_warn_threshold: 0\nclient_timestamp_lead_fail_threshold: 0",
    )
    .unwrap();
    assert_eq!(
        (
            config.client_timestamp_lead_warn_threshold,
            config.client_timestamp_lead_fail_threshold
        ),
        (0, 0)
    );
    let defaults = Config::default();
    assert_eq!(defaults.client_timestamp_lead_warn_threshold, 10);
    assert_eq!(defaults.client_timestamp_lead_fail_threshold, 300);
    // Warning only, with refusals off.
    assert!(Config::from_yaml_str("client_timestamp_lead_fail_threshold: 0").is_ok());
    assert_one_problem(
        "client_timestamp_lead_warn_threshold: 301",
        "client_timestamp_lead_warn_threshold: 301 s is above client_timestamp_lead_fail_threshold (300 s)",
    );
    assert_one_problem(
        "client_timestamp_lead_fail_threshold: -1",
        "client_timestamp_lead_fail_threshold: must be between 0",
    );
}
