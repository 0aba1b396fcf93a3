//! The test hosts: one network namespace per node (`jl-n1` …), each with a
//! veth pair on the bridge `jl-br0` and its own address `10.x.y.i/24`, `lo`
//! up and no default route, so nothing a node sends can leave the machine.
//! The bridge has `10.x.y.254` in the root namespace: the harness's clients
//! reach the nodes through it and never address anything else in 10/8.
//!
//! Faults are nftables rules inside a namespace (table `inet jepsen`, input
//! and output chains), replaced as a whole and healed by deleting the table.
//! Teardown finds everything by name, so it also removes what a crashed run
//! left behind.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The bridge every host's veth is attached to.
pub(crate) const BRIDGE: &str = "jl-br0";
/// The prefix of the hosts' namespaces.
const NS_PREFIX: &str = "jl-n";
/// The bridge's own host number in the /24.
const BRIDGE_HOST: u8 = 254;
/// libfaketime's multi-threaded preload library (Debian's path).
pub(crate) const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// The hosts' /24: `10.b.c.0/24`. Only 10/8 is accepted, a private range the
/// bridge's route keeps on the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subnet {
    b: u8,
    c: u8,
}

impl Subnet {
    /// Parses `10.b.c`.
    pub(crate) fn parse(text: &str) -> Result<Subnet, String> {
        let bad = || format!("--subnet must be 10.x.y (three octets, the first 10), not `{text}`");
        let parts: Vec<&str> = text.trim().split('.').collect();
        let [a, b, c] = parts.as_slice() else {
            return Err(bad());
        };
        let octet = |s: &str| s.parse::<u8>().map_err(|_| bad());
        if octet(a)? != 10 {
            return Err(bad());
        }
        Ok(Subnet {
            b: octet(b)?,
            c: octet(c)?,
        })
    }

    /// Node `i`'s address (1-based).
    pub(crate) fn node(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, self.b, self.c, u8::try_from(i).unwrap_or(0))
    }

    /// The bridge's address in the root namespace: the clients' source.
    pub(crate) fn bridge(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, self.b, self.c, BRIDGE_HOST)
    }
}

/// Node `i`'s namespace.
pub(crate) fn ns_name(i: usize) -> String {
    format!("{NS_PREFIX}{i}")
}

/// Runs a command to completion; its stdout, or its stderr as the error.
pub(crate) fn run_cmd(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Whether `program` can be found on the PATH.
fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs nft, ip and libfaketime when one is missing. `apt-get` may find
/// the dpkg lock taken by another install for a while: it is retried.
pub(crate) fn ensure_tools() -> Result<(), String> {
    if have("nft") && have("ip") && Path::new(LIBFAKETIME).exists() {
        return Ok(());
    }
    let packages = [
        "install",
        "-y",
        "nftables",
        "iproute2",
        "faketime",
        "libfaketime",
    ];
    let mut last = String::new();
    for attempt in 0..10 {
        match run_cmd("apt-get", &packages) {
            Ok(_) => return Ok(()),
            Err(e) => last = e,
        }
        if attempt == 0 {
            // A fresh machine may have no package lists yet.
            let _ = run_cmd("apt-get", &["update"]);
        }
        println!("apt-get failed (attempt {}), retrying: {last}", attempt + 1);
        std::thread::sleep(Duration::from_secs(3));
    }
    Err(format!(
        "cannot install nftables, iproute2, libfaketime: {last}"
    ))
}

/// Why the hosts could not be set up.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// Namespaces cannot be created here (not root, no CAP_NET_ADMIN).
    NoNamespaces(String),
    /// Something else failed.
    Failed(String),
}

/// Creates `n` hosts on the bridge. Leftovers of an earlier run are removed
/// first.
pub(crate) fn setup(subnet: Subnet, n: usize) -> Result<(), SetupError> {
    teardown();
    let first = ns_name(1);
    run_cmd("ip", &["netns", "add", &first]).map_err(SetupError::NoNamespaces)?;
    let fail = SetupError::Failed;
    let bridge_addr = format!("{}/24", subnet.bridge());
    run_cmd("ip", &["link", "add", BRIDGE, "type", "bridge"]).map_err(fail)?;
    run_cmd("ip", &["addr", "add", &bridge_addr, "dev", BRIDGE]).map_err(fail)?;
    run_cmd("ip", &["link", "set", BRIDGE, "up"]).map_err(fail)?;
    for i in 1..=n {
        add_host(subnet, i).map_err(fail)?;
    }
    Ok(())
}

/// Host `i`: its namespace, a veth into it, its address, `lo` up.
fn add_host(subnet: Subnet, i: usize) -> Result<(), String> {
    let ns = ns_name(i);
    let veth = format!("jl-v{i}");
    let addr = format!("{}/24", subnet.node(i));
    if i != 1 {
        run_cmd("ip", &["netns", "add", &ns])?;
    }
    run_cmd(
        "ip",
        &[
            "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ],
    )?;
    run_cmd("ip", &["link", "set", &veth, "master", BRIDGE])?;
    run_cmd("ip", &["link", "set", &veth, "up"])?;
    run_cmd("ip", &["-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
    run_cmd("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
    run_cmd("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
    // Only the /24 is routed inside a host; refuse to go on if anything else
    // is, since a node could then reach outside addresses.
    let routes = run_cmd("ip", &["-n", &ns, "route", "show", "default"])?;
    if !routes.trim().is_empty() {
        return Err(format!("{ns} has a default route: {routes}"));
    }
    Ok(())
}

/// Our namespaces that exist now (`jl-n*`), whoever made them.
fn our_namespaces() -> Vec<String> {
    run_cmd("ip", &["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| {
            name.strip_prefix(NS_PREFIX)
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
        .collect()
}

/// Removes every host and the bridge: kills every process inside our
/// namespaces (nodes, stopped or not), deletes the namespaces (their veths go
/// with them) and the bridge. Idempotent, and safe to call from any exit path.
pub(crate) fn teardown() {
    for ns in our_namespaces() {
        let pids = run_cmd("ip", &["netns", "pids", &ns]).unwrap_or_default();
        let pids: Vec<&str> = pids.split_whitespace().collect();
        if !pids.is_empty() {
            let mut args = vec!["-KILL"];
            args.extend(pids.iter().copied());
            let _ = run_cmd("kill", &args);
            wait_gone(&pids);
        }
        let _ = run_cmd("ip", &["netns", "del", &ns]);
    }
    // A namespace outlives its name while a process is still in it, and its
    // veth with it: delete our veths explicitly (either end takes both).
    for veth in our_veths() {
        let _ = run_cmd("ip", &["link", "del", &veth]);
    }
    let _ = run_cmd("ip", &["link", "del", BRIDGE]);
}

/// Waits (up to 5 s) until the processes `pids` have exited.
fn wait_gone(pids: &[&str]) {
    for _ in 0..50 {
        if pids
            .iter()
            .all(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Our veths in the root namespace (`jl-v1` …).
fn our_veths() -> Vec<String> {
    veths_in(&run_cmd("ip", &["-o", "link", "show"]).unwrap_or_default())
}

/// The `jl-vN` names in `ip -o link show` output.
fn veths_in(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name))
        .filter(|name| {
            name.strip_prefix("jl-v")
                .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
        .collect()
}

/// Tears the hosts down when dropped: on a normal return, an early error or
/// a panic.
#[derive(Debug)]
pub(crate) struct HostsGuard;

impl Drop for HostsGuard {
    fn drop(&mut self) {
        teardown();
    }
}

/// What one host's firewall drops.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rules {
    /// Drop everything arriving from these nodes.
    pub(crate) drop_from: BTreeSet<usize>,
    /// Drop everything sent to these nodes.
    pub(crate) drop_to: BTreeSet<usize>,
    /// Drop this percentage of packets arriving from these nodes at random.
    pub(crate) loss: Option<(u8, BTreeSet<usize>)>,
}

fn address_set(subnet: Subnet, nodes: &BTreeSet<usize>) -> String {
    let addrs: Vec<String> = nodes.iter().map(|&i| subnet.node(i).to_string()).collect();
    format!("{{ {} }}", addrs.join(", "))
}

/// The `nft -f` script that replaces the `inet jepsen` table with `rules`
/// (adding then deleting the table first makes the replacement atomic and
/// works whether or not it existed).
pub(crate) fn nft_script(subnet: Subnet, rules: &Rules) -> String {
    let mut s = String::from("add table inet jepsen\ndelete table inet jepsen\n");
    s.push_str("table inet jepsen {\n  chain input {\n");
    s.push_str("    type filter hook input priority 0; policy accept;\n");
    if !rules.drop_from.is_empty() {
        let _ = writeln!(
            s,
            "    ip saddr {} drop",
            address_set(subnet, &rules.drop_from)
        );
    }
    if let Some((pct, from)) = rules.loss.as_ref().filter(|(_, f)| !f.is_empty()) {
        let set = address_set(subnet, from);
        let _ = writeln!(s, "    ip saddr {set} numgen random mod 100 < {pct} drop");
    }
    s.push_str("  }\n  chain output {\n");
    s.push_str("    type filter hook output priority 0; policy accept;\n");
    if !rules.drop_to.is_empty() {
        let _ = writeln!(
            s,
            "    ip daddr {} drop",
            address_set(subnet, &rules.drop_to)
        );
    }
    s.push_str("  }\n}\n");
    s
}

/// Installs `rules` in host `i` (an empty set heals it).
pub(crate) async fn apply_rules(subnet: Subnet, i: usize, rules: &Rules) -> Result<(), String> {
    nft_in(i, &nft_script(subnet, rules)).await
}

/// Removes host `i`'s fault rules; healing a healthy host is not an error.
pub(crate) async fn heal(i: usize) -> Result<(), String> {
    nft_in(i, "add table inet jepsen\ndelete table inet jepsen\n").await
}

/// Runs `nft -f -` with `script` inside host `i`.
async fn nft_in(i: usize, script: &str) -> Result<(), String> {
    use tokio::io::AsyncWriteExt;
    let ns = ns_name(i);
    let fail = |e: std::io::Error| format!("nft in {ns}: {e}");
    let mut child = tokio::process::Command::new("ip")
        .args(["netns", "exec", &ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(fail)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).await.map_err(fail)?;
    }
    let out = child.wait_with_output().await.map_err(fail)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft in {ns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_are_10_x_y_only() {
        let s = Subnet::parse("10.99.0").expect("valid");
        assert_eq!(s.node(3), Ipv4Addr::new(10, 99, 0, 3));
        assert_eq!(s.bridge(), Ipv4Addr::new(10, 99, 0, 254));
        for bad in ["192.168.1", "10.99", "10.99.0.1", "10.300.0", "ten.1.2", ""] {
            assert!(Subnet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leftover_veths_are_found_by_name() {
        let listing = "1: lo: <LOOPBACK,UP> mtu 65536\n\
            14: jl-v1@if2: <BROADCAST,UP> mtu 1500 master jl-br0\n\
            15: jl-v12@if2: <BROADCAST> mtu 1500\n\
            16: jl-br0: <BROADCAST,UP> mtu 1500\n\
            17: jl-vx@if3: <BROADCAST> mtu 1500\n";
        assert_eq!(veths_in(listing), ["jl-v1", "jl-v12"]);
    }

    #[test]
    fn rules_become_one_atomic_nft_script() {
        let subnet = Subnet::parse("10.99.0").expect("valid");
        let rules = Rules {
            drop_from: [2, 3].into(),
            drop_to: [3].into(),
            loss: Some((30, [4].into())),
        };
        let script = nft_script(subnet, &rules);
        assert!(script.starts_with("add table inet jepsen\ndelete table inet jepsen\n"));
        assert!(script.contains("ip saddr { 10.99.0.2, 10.99.0.3 } drop"));
        assert!(script.contains("ip daddr { 10.99.0.3 } drop"));
        assert!(script.contains("ip saddr { 10.99.0.4 } numgen random mod 100 < 30 drop"));
        assert!(script.contains("type filter hook input priority 0; policy accept;"));
        assert!(script.contains("type filter hook output priority 0; policy accept;"));
        let empty = nft_script(subnet, &Rules::default());
        assert!(!empty.contains(" drop"), "{empty}");
    }
}
