//! How much memory the build may plan for: the default of `--event-memory`.

/// The least `--event-memory` the timeline works with (below it the passes are many and
/// short).
pub const MIN_EVENT_MEMORY: usize = 64 << 20;

/// The default budget of the timeline's wide event columns: a quarter of the memory this
/// process may use (the machine's, or its control group's limit when that is lower), and
/// at least [`MIN_EVENT_MEMORY`]; [`plexus_model::profiles::timeline::DEFAULT_EVENT_MEMORY`]
/// where neither can be read. A quarter leaves the rest of the build (the narrow columns,
/// the index, the writer) and the machine's other work their share.
pub fn default_event_memory() -> usize {
    let limit = [machine_memory(), cgroup_limit()]
        .into_iter()
        .flatten()
        .min();
    match limit {
        Some(bytes) => usize::try_from(bytes / 4)
            .unwrap_or(usize::MAX)
            .max(MIN_EVENT_MEMORY),
        None => plexus_model::profiles::timeline::DEFAULT_EVENT_MEMORY,
    }
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    mem_total(&text)
}

/// The `MemTotal:  24684084 kB` line of a `/proc/meminfo`, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

/// The control group's memory limit (cgroup v2 `memory.max`, else v1
/// `memory.limit_in_bytes`), when there is one.
fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|path| std::fs::read_to_string(path).ok())
    .and_then(|text| cgroup_value(&text))
}

/// A limit file's value: `max` (no limit) and v1's "no limit" (near `i64::MAX`) are none.
fn cgroup_value(text: &str) -> Option<u64> {
    let n: u64 = text.trim().parse().ok()?;
    (n < 1 << 60).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_cgroup_files_are_read() {
        let meminfo = "MemTotal:       24684084 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(meminfo), Some(24_684_084 * 1024));
        assert_eq!(mem_total("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total("MemTotal: lots kB\n"), None);
        assert_eq!(cgroup_value("max\n"), None);
        assert_eq!(cgroup_value("9223372036854771712\n"), None, "v1's no limit");
        assert_eq!(cgroup_value("4294967296\n"), Some(4 << 30));
    }

    #[test]
    fn the_default_is_a_quarter_and_never_below_the_least() {
        let d = default_event_memory();
        assert!(d >= MIN_EVENT_MEMORY);
        if let Some(total) = machine_memory() {
            assert!(d as u64 <= (total / 4).max(MIN_EVENT_MEMORY as u64));
        }
    }
}
