//! The node's configuration: `basalt.yaml` with Cassandra's key names where
//! Cassandra has one, an embedded default that runs one node on 127.0.0.1, and
//! validation that reports every problem at once.
//!
//! Loading goes YAML text → generic YAML mapping → (overrides from the command
//! line applied to the mapping) → typed [`Config`]. Going through the mapping
//! rather than `#[derive(Deserialize)]` is what lets one pass name every unknown
//! key, every wrongly typed value and every out-of-range value together, and it
//! means command-line overrides are checked by exactly the same rules as the
//! file.
//!
//! Sizes and durations are plain integers whose unit is fixed per key and
//! written in its documentation (MiB, KiB, ms, µs), like Cassandra's pre-4.1
//! `_in_mb`/`_in_ms` keys but without the suffix. A key given as `null`
//! (`key:` with no value) keeps its default, as in Cassandra's YAML.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};
use storage::Clock;
use storage::EngineOptions;
use storage::SyncMode;

mod reader;
#[cfg(test)]
mod tests;

use reader::Reader;

/// `native_transport_address` is accepted as another name for `rpc_address`:
/// the address CQL clients use is the native transport's, and the name says so
/// where Cassandra's historical Thrift-era name does not. Setting both is an
/// error, since which one wins would otherwise be a guess.
const RPC_ADDRESS_ALIAS: &str = "native_transport_address";

const PORT: RangeInclusive<i64> = 1..=65_535;
const MILLIS: RangeInclusive<i64> = 1..=3_600_000;
/// One TiB: a bound far above any real memory budget that still keeps
/// MiB→bytes conversion well clear of overflow.
const MEBIBYTES: RangeInclusive<i64> = 1..=1_048_576;

/// When commit log records become durable (Cassandra's `commitlog_sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CommitLogSync {
    /// fsync every `commitlog_sync_period` ms; writes are acknowledged before
    /// they are durable, so a crash may lose up to one period of writes.
    Periodic,
    /// Acknowledge a write only after its fsync; concurrent writers share one.
    Batch,
    /// Like `batch`, but an fsync leader waits up to
    /// `commitlog_sync_group_window_us` for more writers to share it.
    Group,
}

impl CommitLogSync {
    /// The names accepted in YAML and on the command line.
    pub const NAMES: [&'static str; 3] = ["periodic", "batch", "group"];

    /// Parses a YAML or command-line name (case-insensitive).
    pub fn from_name(name: &str) -> Option<CommitLogSync> {
        match name.to_ascii_lowercase().as_str() {
            "periodic" => Some(CommitLogSync::Periodic),
            "batch" => Some(CommitLogSync::Batch),
            "group" => Some(CommitLogSync::Group),
            _ => None,
        }
    }
}

/// How the node learns its datacenter and rack (Cassandra's `endpoint_snitch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum EndpointSnitch {
    /// Everything in one datacenter and rack: for a single node or a test ring.
    SimpleSnitch,
    /// The node's `dc` and `rack` keys are gossiped to the others.
    GossipingPropertyFileSnitch,
}

impl EndpointSnitch {
    /// The names accepted in YAML, with or without Cassandra's
    /// `org.apache.cassandra.locator.` prefix.
    pub const NAMES: [&'static str; 2] = ["SimpleSnitch", "GossipingPropertyFileSnitch"];

    /// Parses a snitch name as Cassandra's YAML spells it.
    pub fn from_name(name: &str) -> Option<EndpointSnitch> {
        let short = name
            .strip_prefix("org.apache.cassandra.locator.")
            .unwrap_or(name);
        match short {
            "SimpleSnitch" => Some(EndpointSnitch::SimpleSnitch),
            "GossipingPropertyFileSnitch" => Some(EndpointSnitch::GossipingPropertyFileSnitch),
            _ => None,
        }
    }
}

/// The node's configuration. Field names are the YAML keys; each field's
/// documentation gives its unit and default.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// Name of the cluster; nodes refuse to gossip across names. `"Test Cluster"`.
    pub cluster_name: String,
    /// Address other nodes reach this node on (an IP literal). `127.0.0.1`.
    pub listen_address: IpAddr,
    /// Address CQL clients connect to; `native_transport_address` is an alias. `127.0.0.1`.
    pub rpc_address: IpAddr,
    /// CQL native protocol port. `9042`.
    pub native_transport_port: u16,
    /// Internode messaging port. `7000`.
    pub storage_port: u16,
    /// Admin API port (`nodetool` talks to it; Cassandra's JMX port). `7199`.
    pub admin_port: u16,
    /// Where SSTables live. Exactly one directory for now. `["./basalt-data/data"]`.
    pub data_file_directories: Vec<PathBuf>,
    /// Where commit log segments live. `"./basalt-data/commitlog"`.
    pub commitlog_directory: PathBuf,
    /// When writes become durable: `periodic`, `batch` or `group`. `group`.
    pub commitlog_sync: CommitLogSync,
    /// ms between fsyncs when `commitlog_sync` is `periodic`. `10000`.
    pub commitlog_sync_period: u64,
    /// µs an fsync leader waits for company when `commitlog_sync` is `group`. `20`.
    pub commitlog_sync_group_window_us: u64,
    /// MiB per commit log segment file. `32`.
    pub commitlog_segment_size: u64,
    /// MiB the commit log's segments may take before the tables pinning the
    /// oldest are flushed (Cassandra's `commitlog_total_space`). `null`: the
    /// smaller of 8 GiB and a quarter of the commit log's volume.
    pub commitlog_total_space: Option<u64>,
    /// MiB all memtables may hold together before writers wait for flushes. `256`.
    pub memtable_space: u64,
    /// Background compaction threads. `1`.
    pub concurrent_compactors: u32,
    /// MiB/s cap on compaction writes; 0 means unlimited. `64`.
    pub compaction_throughput: u64,
    /// MiB, the largest CQL frame accepted. `16`.
    pub native_transport_max_frame_size: u64,
    /// Requests one CQL connection may have in flight. `1024`.
    pub native_transport_max_concurrent_requests_per_connection: u32,
    /// CQL connections the node accepts at once. `4096`.
    pub native_transport_max_concurrent_connections: u32,
    /// CQL connections accepted at once from one client address; `-1` means
    /// no limit, as in Cassandra (whose default it is). `1024`.
    pub native_transport_max_concurrent_connections_per_ip: i64,
    /// ms a CQL connection may take to send its STARTUP before it is closed
    /// (Basalt's own; Cassandra has none). `10000`.
    pub native_transport_handshake_timeout: u64,
    /// ms; a CQL connection that sends nothing for this long, with no request
    /// in flight, is closed. `0` disables it, as in Cassandra. `0`.
    pub native_transport_idle_timeout: u64,
    /// KiB; larger batches are logged with a warning. `5`.
    pub batch_size_warn_threshold: u64,
    /// KiB; larger batches are refused. `50`.
    pub batch_size_fail_threshold: u64,
    /// Tombstones one query may read before a warning is logged. `1000`.
    pub tombstone_warn_threshold: u64,
    /// Tombstones one query may read before it is aborted. `100000`.
    pub tombstone_failure_threshold: u64,
    /// Seconds a client's write timestamp may lead this node's clock before the
    /// write gets a warning; 0 disables. `10`.
    pub client_timestamp_lead_warn_threshold: u64,
    /// Seconds a client's write timestamp may lead this node's clock before the
    /// write is refused; 0 disables. `300`.
    pub client_timestamp_lead_fail_threshold: u64,
    /// MiB of prepared statements kept. `10`.
    pub prepared_statements_cache_size: u64,
    /// Virtual nodes (token ranges) this node owns. `16`.
    pub num_tokens: u32,
    /// Nodes contacted to join the cluster: `ip`, `ip:port` or `host:port`. `["127.0.0.1"]`.
    pub seeds: Vec<String>,
    /// `SimpleSnitch` or `GossipingPropertyFileSnitch`. `SimpleSnitch`.
    pub endpoint_snitch: EndpointSnitch,
    /// This node's datacenter (Cassandra keeps it in `cassandra-rackdc.properties`). `"datacenter1"`.
    pub dc: String,
    /// This node's rack. `"rack1"`.
    pub rack: String,
    /// ms a coordinator waits for replicas on a single-partition read. `5000`.
    pub read_request_timeout: u64,
    /// ms a coordinator waits for replicas on a write. `2000`.
    pub write_request_timeout: u64,
    /// ms a coordinator waits for replicas on a range scan. `10000`.
    pub range_request_timeout: u64,
    /// Phi-accrual suspicion level at which a peer is marked down. `8`.
    pub phi_convict_threshold: f64,
    /// Whether coordinators keep hints for replicas that are down or time out. `true`.
    pub hinted_handoff_enabled: bool,
    /// ms a replica may have been down and still get hints; older hints are
    /// dropped. `10800000` (3 h).
    pub max_hint_window: u64,
    /// KiB per second of hints sent to a node that came back. `1024`.
    pub hinted_handoff_throttle: u64,
    /// ms between fsyncs of pending hints (hints newer than this are lost if
    /// the node dies). `10000`.
    pub hints_flush_period: u64,
    /// ms added to this node's wall clock (write timestamps, TTLs, hint and
    /// batchlog ages); fault-injection tests skew a node with it. `0`.
    pub clock_offset: i64,
    /// ms of clock skew with a peer, measured over gossip, above which a
    /// warning is logged (`basalt_clock_skew_seconds` shows every peer's). `1000`.
    pub clock_skew_warn_threshold: i64,
}

impl Default for Config {
    /// One node on 127.0.0.1 with its data under `./basalt-data`.
    fn default() -> Self {
        let localhost = IpAddr::from([127, 0, 0, 1]);
        Config {
            cluster_name: "Test Cluster".to_owned(),
            listen_address: localhost,
            rpc_address: localhost,
            native_transport_port: 9042,
            storage_port: 7000,
            admin_port: 7199,
            data_file_directories: vec![PathBuf::from("./basalt-data/data")],
            commitlog_directory: PathBuf::from("./basalt-data/commitlog"),
            // The engine's default: durable acknowledgements at little cost
            // (see `storage::SyncMode`'s default).
            commitlog_sync: CommitLogSync::Group,
            commitlog_sync_period: 10_000,
            commitlog_sync_group_window_us: 20,
            commitlog_segment_size: 32,
            commitlog_total_space: None,
            memtable_space: 256,
            concurrent_compactors: 1,
            compaction_throughput: 64,
            native_transport_max_frame_size: 16,
            native_transport_max_concurrent_requests_per_connection: 1024,
            native_transport_max_concurrent_connections: 4096,
            native_transport_max_concurrent_connections_per_ip: 1024,
            native_transport_handshake_timeout: 10_000,
            native_transport_idle_timeout: 0,
            batch_size_warn_threshold: 5,
            batch_size_fail_threshold: 50,
            tombstone_warn_threshold: 1_000,
            tombstone_failure_threshold: 100_000,
            // Synchronised clocks differ by milliseconds: 10 s of lead is a
            // misconfigured clock, and 5 min (Kerberos's default skew
            // tolerance) is past any clock kept by NTP, while still catching
            // wrong time zones and timestamps in the wrong unit.
            client_timestamp_lead_warn_threshold: 10,
            client_timestamp_lead_fail_threshold: 300,
            prepared_statements_cache_size: 10,
            num_tokens: 16,
            seeds: vec!["127.0.0.1".to_owned()],
            endpoint_snitch: EndpointSnitch::SimpleSnitch,
            dc: "datacenter1".to_owned(),
            rack: "rack1".to_owned(),
            read_request_timeout: 5_000,
            write_request_timeout: 2_000,
            range_request_timeout: 10_000,
            phi_convict_threshold: 8.0,
            hinted_handoff_enabled: true,
            max_hint_window: 3 * 3600 * 1000,
            hinted_handoff_throttle: 1024,
            hints_flush_period: 10_000,
            clock_offset: 0,
            clock_skew_warn_threshold: 1000,
        }
    }
}

/// Everything wrong with a configuration, one problem per entry, each naming
/// its key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration in {origin}:\n  {}", problems.join("\n  "))]
pub struct ConfigError {
    /// Where the configuration came from (a path, or `<string>`).
    pub origin: String,
    /// The problems, in the order the keys were checked.
    pub problems: Vec<String>,
}

/// One `key = value` set from the command line on top of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    key: String,
    /// A value whose YAML did not parse keeps its error, so that it is reported
    /// with every other problem instead of on its own.
    value: Result<Value, String>,
}

impl Override {
    /// `key=value`, the value read as YAML (so `seeds=[a, b]` is a list and
    /// `native_transport_port=9043` a number). Fails without `=` or a key.
    pub fn parse(assignment: &str) -> Result<Override, String> {
        match assignment.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok(Override::yaml(key.trim(), value.trim()))
            }
            _ => Err(format!("expected key=value, got `{assignment}`")),
        }
    }

    /// Sets `key` to `value` read as YAML.
    pub fn yaml(key: &str, value: &str) -> Override {
        let value = serde_yaml_ng::from_str::<Value>(value)
            .map_err(|e| format!("{key}: the value `{value}` is not valid YAML: {e}"));
        Override {
            key: key.to_owned(),
            value,
        }
    }

    /// Sets `key` to the string `value` exactly (never read as a number or bool).
    pub fn text(key: &str, value: &str) -> Override {
        Override {
            key: key.to_owned(),
            value: Ok(Value::String(value.to_owned())),
        }
    }

    /// Sets `key` to a list of strings.
    pub fn list(key: &str, values: &[String]) -> Override {
        let items = values.iter().cloned().map(Value::String).collect();
        Override {
            key: key.to_owned(),
            value: Ok(Value::Sequence(items)),
        }
    }

    /// The key this override sets.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Config {
    /// Parses and validates a YAML document. An empty document is the default.
    pub fn from_yaml_str(yaml: &str) -> Result<Config, ConfigError> {
        Config::from_yaml_str_with_overrides(yaml, "<string>", &[])
    }

    /// Reads, parses and validates the YAML file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_overrides(Some(path), &[])
    }

    /// Reads `path` (or starts from the embedded default when `None`), applies
    /// `overrides` in order, then validates the result as a whole.
    pub fn load_with_overrides(
        path: Option<&Path>,
        overrides: &[Override],
    ) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Config::from_yaml_str_with_overrides("", "<defaults>", overrides);
        };
        let origin = path.display().to_string();
        let yaml = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            problems: vec![format!("cannot read the file: {e}")],
        })?;
        Config::from_yaml_str_with_overrides(&yaml, &origin, overrides)
    }

    /// Parses `yaml`, applies `overrides` in order, and validates the result;
    /// `origin` names the source in the error.
    pub fn from_yaml_str_with_overrides(
        yaml: &str,
        origin: &str,
        overrides: &[Override],
    ) -> Result<Config, ConfigError> {
        let fail = |problems| ConfigError {
            origin: origin.to_owned(),
            problems,
        };
        let mut mapping = match serde_yaml_ng::from_str::<Value>(yaml) {
            Ok(Value::Null) => Mapping::new(),
            Ok(Value::Mapping(mapping)) => mapping,
            Ok(_) => {
                return Err(fail(vec![
                    "the document must be a mapping of keys to values".to_owned(),
                ]));
            }
            Err(e) => return Err(fail(vec![format!("not valid YAML: {e}")])),
        };
        let mut problems = Vec::new();
        for o in overrides {
            match &o.value {
                Ok(value) => apply_override(&mut mapping, &o.key, value.clone()),
                Err(problem) => problems.push(problem.clone()),
            }
        }
        let mut reader = Reader::new(mapping);
        let config = Config::read(&mut reader);
        let findings = reader.finish();
        problems.extend(findings.problems);
        problems.extend(config.cross_checks(&findings.failed));
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(fail(problems))
        }
    }

    /// Every key the configuration accepts, in the order they are checked.
    pub fn known_keys() -> Vec<&'static str> {
        let mut reader = Reader::new(Mapping::new());
        Config::read(&mut reader);
        let mut keys = reader.known_keys();
        keys.push(RPC_ADDRESS_ALIAS);
        keys
    }

    /// The configuration as YAML, in the same form `from_yaml_str` reads.
    pub fn to_yaml(&self) -> String {
        // Every field is a string, number, bool or list of strings: serializing
        // cannot fail, but the error is still rendered rather than unwrapped.
        serde_yaml_ng::to_string(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }

    /// The storage engine's options for this configuration; `clock` drives the
    /// engine's background work.
    pub fn engine_options(&self, clock: Arc<dyn Clock>) -> EngineOptions {
        // Validation guarantees exactly one data directory.
        let data_dir = self
            .data_file_directories
            .first()
            .cloned()
            .unwrap_or_default();
        let mut options = EngineOptions::new(data_dir, clock);
        options.commitlog.dir = self.commitlog_directory.clone();
        options.commitlog.segment_size_bytes = self.commitlog_segment_size << 20;
        options.commitlog_total_space_bytes = match self.commitlog_total_space {
            Some(mib) => mib << 20,
            None => storage::commitlog::default_total_space(&self.commitlog_directory),
        };
        options.commitlog.sync = match self.commitlog_sync {
            CommitLogSync::Periodic => SyncMode::Periodic {
                interval_ms: self.commitlog_sync_period,
            },
            CommitLogSync::Batch => SyncMode::Batch,
            CommitLogSync::Group => SyncMode::Group {
                window_us: self.commitlog_sync_group_window_us,
            },
        };
        options.memtable_budget_bytes = self.memtable_space << 20;
        options.compaction_threads = usize::try_from(self.concurrent_compactors).unwrap_or(1);
        options.compaction_throughput_mib_per_s = self.compaction_throughput;
        options
    }

    /// Reads every key from `r` over the defaults; `r` collects the problems.
    fn read(r: &mut Reader) -> Config {
        let mut c = Config::default();
        c.read_network(r);
        c.read_storage(r);
        c.read_limits(r);
        c.read_cluster(r);
        c
    }

    fn read_network(&mut self, r: &mut Reader) {
        r.non_empty_string("cluster_name", &mut self.cluster_name);
        r.parsed(
            "listen_address",
            &mut self.listen_address,
            "an IP address",
            |s| s.parse().ok(),
        );
        r.alias("rpc_address", RPC_ADDRESS_ALIAS);
        r.parsed("rpc_address", &mut self.rpc_address, "an IP address", |s| {
            s.parse().ok()
        });
        r.int(
            "native_transport_port",
            &mut self.native_transport_port,
            PORT,
        );
        r.int("storage_port", &mut self.storage_port, PORT);
        r.int("admin_port", &mut self.admin_port, PORT);
    }

    fn read_storage(&mut self, r: &mut Reader) {
        let mut dirs: Vec<String> = path_strings(&self.data_file_directories);
        if r.string_list("data_file_directories", &mut dirs) {
            self.data_file_directories = dirs.into_iter().map(PathBuf::from).collect();
        }
        let mut commitlog = self.commitlog_directory.display().to_string();
        if r.non_empty_string("commitlog_directory", &mut commitlog) {
            self.commitlog_directory = PathBuf::from(commitlog);
        }
        let expected = format!("one of {}", CommitLogSync::NAMES.join(", "));
        r.parsed(
            "commitlog_sync",
            &mut self.commitlog_sync,
            &expected,
            CommitLogSync::from_name,
        );
        r.int(
            "commitlog_sync_period",
            &mut self.commitlog_sync_period,
            MILLIS,
        );
        r.int(
            "commitlog_sync_group_window_us",
            &mut self.commitlog_sync_group_window_us,
            0..=1_000_000,
        );
        // Segments are addressed with 32-bit offsets in Cassandra; 1 GiB keeps
        // well inside that and far above any useful size.
        r.int(
            "commitlog_segment_size",
            &mut self.commitlog_segment_size,
            1..=1024,
        );
        // 0 is outside the range, so it stands for "not given" here.
        let mut total_space = self.commitlog_total_space.unwrap_or(0);
        r.int("commitlog_total_space", &mut total_space, MEBIBYTES);
        self.commitlog_total_space = (total_space > 0).then_some(total_space);
        r.int("memtable_space", &mut self.memtable_space, MEBIBYTES);
        r.int(
            "concurrent_compactors",
            &mut self.concurrent_compactors,
            1..=64,
        );
        r.int(
            "compaction_throughput",
            &mut self.compaction_throughput,
            0..=1_048_576,
        );
    }

    fn read_limits(&mut self, r: &mut Reader) {
        // The protocol's own frame limit is 256 MB.
        r.int(
            "native_transport_max_frame_size",
            &mut self.native_transport_max_frame_size,
            1..=256,
        );
        // Protocol v4 stream ids are signed 16-bit: at most 32768 in flight.
        r.int(
            "native_transport_max_concurrent_requests_per_connection",
            &mut self.native_transport_max_concurrent_requests_per_connection,
            1..=32_768,
        );
        r.int(
            "native_transport_max_concurrent_connections",
            &mut self.native_transport_max_concurrent_connections,
            1..=1_000_000,
        );
        self.read_connection_timeouts(r);
        r.int(
            "batch_size_warn_threshold",
            &mut self.batch_size_warn_threshold,
            MEBIBYTES,
        );
        r.int(
            "batch_size_fail_threshold",
            &mut self.batch_size_fail_threshold,
            MEBIBYTES,
        );
        let tombstones = 1..=1_000_000_000;
        r.int(
            "tombstone_warn_threshold",
            &mut self.tombstone_warn_threshold,
            tombstones.clone(),
        );
        r.int(
            "tombstone_failure_threshold",
            &mut self.tombstone_failure_threshold,
            tombstones,
        );
        // Up to a year, in seconds; 0 turns the guardrail off.
        let lead = 0..=31_536_000;
        r.int(
            "client_timestamp_lead_warn_threshold",
            &mut self.client_timestamp_lead_warn_threshold,
            lead.clone(),
        );
        r.int(
            "client_timestamp_lead_fail_threshold",
            &mut self.client_timestamp_lead_fail_threshold,
            lead,
        );
        r.int(
            "prepared_statements_cache_size",
            &mut self.prepared_statements_cache_size,
            MEBIBYTES,
        );
        r.int(
            "read_request_timeout",
            &mut self.read_request_timeout,
            MILLIS,
        );
        r.int(
            "write_request_timeout",
            &mut self.write_request_timeout,
            MILLIS,
        );
        r.int(
            "range_request_timeout",
            &mut self.range_request_timeout,
            MILLIS,
        );
    }

    fn read_cluster(&mut self, r: &mut Reader) {
        // Cassandra refuses more than 1536 tokens per node.
        r.int("num_tokens", &mut self.num_tokens, 1..=1536);
        if r.string_list("seeds", &mut self.seeds) {
            for seed in &self.seeds {
                if let Err(why) = check_seed(seed) {
                    r.problem("seeds", format!("`{seed}` {why}"));
                }
            }
        }
        let expected = format!("one of {}", EndpointSnitch::NAMES.join(", "));
        r.parsed(
            "endpoint_snitch",
            &mut self.endpoint_snitch,
            &expected,
            EndpointSnitch::from_name,
        );
        r.non_empty_string("dc", &mut self.dc);
        r.non_empty_string("rack", &mut self.rack);
        // Below 1 a healthy node is convicted after about one late heartbeat;
        // above 32 a dead one is never convicted in practice.
        r.float(
            "phi_convict_threshold",
            &mut self.phi_convict_threshold,
            1.0..=32.0,
        );
        self.read_hints(r);
        // A day either way covers any skew a test wants to inject.
        let day = 24 * 3600 * 1000;
        r.int("clock_offset", &mut self.clock_offset, -day..=day);
        r.int(
            "clock_skew_warn_threshold",
            &mut self.clock_skew_warn_threshold,
            1..=day,
        );
    }

    fn read_hints(&mut self, r: &mut Reader) {
        r.boolean("hinted_handoff_enabled", &mut self.hinted_handoff_enabled);
        // A hint older than a table's gc_grace_seconds (ten days by default)
        // could bring back data whose tombstone was purged: capped at a week.
        r.int(
            "max_hint_window",
            &mut self.max_hint_window,
            0..=7 * 24 * 3600 * 1000,
        );
        r.int(
            "hinted_handoff_throttle",
            &mut self.hinted_handoff_throttle,
            1..=1_048_576,
        );
        r.int("hints_flush_period", &mut self.hints_flush_period, MILLIS);
    }

    /// The per-address connection limit and the deadlines that free the slots
    /// of connections that hold them without using them.
    fn read_connection_timeouts(&mut self, r: &mut Reader) {
        let per_ip = "native_transport_max_concurrent_connections_per_ip";
        r.int(
            per_ip,
            &mut self.native_transport_max_concurrent_connections_per_ip,
            -1..=1_000_000,
        );
        if self.native_transport_max_concurrent_connections_per_ip == 0 {
            // Zero would refuse every client: surely not what was meant.
            r.problem(per_ip, "must be -1 (no limit) or at least 1, got 0".into());
        }
        r.int(
            "native_transport_handshake_timeout",
            &mut self.native_transport_handshake_timeout,
            MILLIS,
        );
        r.int(
            "native_transport_idle_timeout",
            &mut self.native_transport_idle_timeout,
            0..=86_400_000,
        );
    }

    /// Rules that involve more than one key, or a list's length; a rule is
    /// skipped when one of its keys already had a problem (`failed`).
    fn cross_checks(&self, failed: &BTreeSet<&'static str>) -> Vec<String> {
        let ok = |keys: &[&str]| keys.iter().all(|k| !failed.contains(k));
        let mut problems = Vec::new();
        match self.data_file_directories.len() {
            0 => problems.push("data_file_directories: must name a directory".to_owned()),
            1 => {}
            n => problems.push(format!(
                "data_file_directories: the engine stores data in one directory for now, got {n}"
            )),
        }
        if ok(&["seeds"]) && self.seeds.is_empty() {
            problems
                .push("seeds: must name at least one node (a lone node names itself)".to_owned());
        }
        let batch = ["batch_size_warn_threshold", "batch_size_fail_threshold"];
        if ok(&batch) && self.batch_size_warn_threshold > self.batch_size_fail_threshold {
            problems.push(format!(
                "batch_size_warn_threshold: {} KiB is above batch_size_fail_threshold ({} KiB)",
                self.batch_size_warn_threshold, self.batch_size_fail_threshold
            ));
        }
        let tombstones = ["tombstone_warn_threshold", "tombstone_failure_threshold"];
        if ok(&tombstones) && self.tombstone_warn_threshold > self.tombstone_failure_threshold {
            problems.push(format!(
                "tombstone_warn_threshold: {} is above tombstone_failure_threshold ({})",
                self.tombstone_warn_threshold, self.tombstone_failure_threshold
            ));
        }
        problems.extend(self.lead_thresholds_clash(failed));
        problems.extend(self.port_clashes(failed));
        problems
    }

    /// A warn threshold above an enabled fail threshold could never warn.
    fn lead_thresholds_clash(&self, failed: &BTreeSet<&'static str>) -> Option<String> {
        let keys = [
            "client_timestamp_lead_warn_threshold",
            "client_timestamp_lead_fail_threshold",
        ];
        let (warn, fail) = (
            self.client_timestamp_lead_warn_threshold,
            self.client_timestamp_lead_fail_threshold,
        );
        (keys.iter().all(|k| !failed.contains(k)) && fail > 0 && warn > fail)
            .then(|| format!("{}: {warn} s is above {} ({fail} s)", keys[0], keys[1]))
    }

    /// Two listeners on one port would fail at bind time; say so up front.
    fn port_clashes(&self, failed: &BTreeSet<&'static str>) -> Vec<String> {
        let ports = [
            ("native_transport_port", self.native_transport_port),
            ("storage_port", self.storage_port),
            ("admin_port", self.admin_port),
        ];
        let mut problems = Vec::new();
        for (i, (key, port)) in ports.iter().enumerate() {
            for (other, other_port) in &ports[i + 1..] {
                let checked = !failed.contains(key) && !failed.contains(other);
                if checked && port == other_port {
                    problems.push(format!("{key}: {port} is also {other}"));
                }
            }
        }
        problems
    }
}

/// Sets `key` in `mapping`; setting one spelling of `rpc_address` drops the
/// other so the command line wins over the file instead of clashing with it.
fn apply_override(mapping: &mut Mapping, key: &str, value: Value) {
    let other = match key {
        "rpc_address" => Some(RPC_ADDRESS_ALIAS),
        RPC_ADDRESS_ALIAS => Some("rpc_address"),
        _ => None,
    };
    if let Some(other) = other {
        mapping.shift_remove(other);
    }
    mapping.insert(Value::String(key.to_owned()), value);
}

fn path_strings(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

/// A seed is an IP, `ip:port`, `[v6]:port` or `host[:port]`; the port, when
/// given, must be a usable one.
fn check_seed(seed: &str) -> Result<(), &'static str> {
    if seed.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if let Ok(addr) = seed.parse::<std::net::SocketAddr>() {
        return if addr.port() == 0 {
            Err("has port 0")
        } else {
            Ok(())
        };
    }
    let (host, port) = match seed.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (seed, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !host_ok {
        return Err("is not an address, address:port or host:port");
    }
    match port.map(str::parse::<u16>) {
        None | Some(Ok(1..)) => Ok(()),
        Some(_) => Err("has a port that is not between 1 and 65535"),
    }
}
