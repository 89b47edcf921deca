//! Readings from Linux's `/proc`: a process's CPU time and memory, and the whole machine's
//! CPU use.

use std::fs;
use std::time::Duration;

use anyhow::Context;

/// Linux clock ticks per second (`getconf CLK_TCK`), the unit of CPU times in `/proc`.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// Memory use of a process, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Peak resident set size (`VmHWM`), in KiB.
    pub peak_kib: u64,
    /// Current resident set size (`VmRSS`), in KiB.
    pub current_kib: u64,
}

/// The memory use of process `pid`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory { peak_kib: field("VmHWM:"), current_kib: field("VmRSS:") })
}

/// CPU time (user + system) of the process whose `/proc/<pid>/stat` is `path`, in clock
/// ticks; 0 when it cannot be read.
pub fn cpu_ticks(path: &str) -> u64 {
    let Ok(stat) = fs::read_to_string(path) else { return 0 };
    // Fields after the command name (which may contain spaces) start with the state (field 3);
    // utime and stime are fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// The whole machine's CPU time so far, from the `cpu` line of `/proc/stat`, in clock ticks
/// summed over all cores.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostCpu {
    /// Time spent running anything (everything but idle and I/O wait).
    pub busy: u64,
    /// All time.
    pub total: u64,
}

impl HostCpu {
    /// Reads it now; zeros when `/proc/stat` cannot be read.
    pub fn now() -> Self {
        let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
        let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else { return Self::default() };
        let ticks: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
        // user nice system idle iowait irq softirq steal (guest times are inside user/nice).
        let total: u64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
        Self { busy: total.saturating_sub(idle), total }
    }

    /// Share of the machine's CPU capacity in use between `earlier` and this reading, in
    /// percent (100 = every core busy).
    pub fn percent_since(&self, earlier: &Self) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        if total == 0 {
            return 0.0;
        }
        100.0 * self.busy.saturating_sub(earlier.busy) as f64 / total as f64
    }
}

/// CPU used during one measurement, in percent of one core each.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSplit {
    /// The server process.
    pub server: f64,
    /// This process: the load generator (and, for plain-SQL reads on SQLite, SQLite itself).
    pub bench: f64,
    /// Everything else on the machine: the PostgreSQL server, and any outside load.
    pub other: f64,
}

/// Readings taken when a measurement starts, to split the CPU it used afterwards.
pub struct CpuMeter {
    server_stat: String,
    server: u64,
    bench: u64,
    host: HostCpu,
}

impl CpuMeter {
    /// Starts measuring; `server_pid` is the server process.
    pub fn start(server_pid: u32) -> Self {
        let server_stat = format!("/proc/{server_pid}/stat");
        let server = cpu_ticks(&server_stat);
        Self { server, bench: cpu_ticks("/proc/self/stat"), host: HostCpu::now(), server_stat }
    }

    /// The CPU used since [`CpuMeter::start`], over `elapsed` of wall time.
    pub fn split(&self, elapsed: Duration) -> CpuSplit {
        let server = cpu_ticks(&self.server_stat).saturating_sub(self.server);
        let bench = cpu_ticks("/proc/self/stat").saturating_sub(self.bench);
        let host = HostCpu::now().busy.saturating_sub(self.host.busy);
        let percent =
            |ticks: u64| 100.0 * ticks as f64 / TICKS_PER_SECOND / elapsed.as_secs_f64().max(f64::EPSILON);
        CpuSplit {
            server: percent(server),
            bench: percent(bench),
            other: percent(host.saturating_sub(server).saturating_sub(bench)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_readable() {
        assert!(memory(std::process::id()).unwrap().peak_kib > 0);
        let _ = cpu_ticks("/proc/self/stat");
        assert!(HostCpu::now().total > 0);
    }
}
