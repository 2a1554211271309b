//! The harness's results: medians of the repetitions, each contender's
//! ratio to the raw limit, the targets for spool's segmented
//! backend checked against them, the machine they were measured on, and
//! the same as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::Plan;

/// Every metric: key, label, and whether more is better.
pub const METRICS: [(&str, &str, bool); 13] = [
    ("append_b1", "append, batch 1 (rec/s)", true),
    ("append_b64", "append, batch 64 (rec/s)", true),
    ("append_b1024", "append, batch 1024 (rec/s)", true),
    (
        "append_b1_fsync",
        "append + fsync per batch of 1 (rec/s)",
        true,
    ),
    (
        "append_b64_fsync",
        "append + fsync per batch of 64 (rec/s)",
        true,
    ),
    (
        "append_b1024_fsync",
        "append + fsync per batch of 1024 (rec/s)",
        true,
    ),
    (
        "append_16w_fsync",
        "16 writers, each record durable (rec/s)",
        true,
    ),
    ("scan_mb_s", "full scan (MB/s of payload)", true),
    ("page_p50_us", "page of 100, p50 (µs)", false),
    ("page_p99_us", "page of 100, p99 (µs)", false),
    ("open_after_crash_ms", "open after a crash (ms)", false),
    (
        "disk_bytes_per_payload_byte",
        "bytes on disk per payload byte",
        false,
    ),
    ("peak_rss_mb", "peak memory over the workload (MB)", false),
];

/// Samples by contender (in run order) and metric.
#[derive(Default)]
pub struct Results {
    order: Vec<String>,
    samples: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
}

impl Results {
    /// Adds one value.
    pub fn add(&mut self, contender: &str, metric: &str, value: f64) {
        if !self.order.iter().any(|c| c == contender) {
            self.order.push(contender.to_owned());
        }
        self.samples
            .entry(contender.to_owned())
            .or_default()
            .entry(metric.to_owned())
            .or_default()
            .push(value);
    }

    /// The median of a contender's samples of a metric.
    #[must_use]
    pub fn median(&self, contender: &str, metric: &str) -> Option<f64> {
        let mut v = self.samples.get(contender)?.get(metric)?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        Some(v[v.len() / 2])
    }

    /// A contender's median over the raw limit's.
    #[must_use]
    pub fn ratio(&self, contender: &str, metric: &str) -> Option<f64> {
        Some(self.median(contender, metric)? / self.median("raw", metric)?)
    }

    /// The table: a row per metric, a column per contender, each cell the
    /// median and its ratio to raw.
    #[must_use]
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "| metric |");
        for c in &self.order {
            let _ = write!(out, " {c} |");
        }
        let _ = write!(out, "\n|---|");
        for _ in &self.order {
            let _ = write!(out, "---|");
        }
        out.push('\n');
        for (key, label, _) in METRICS {
            if self.order.iter().all(|c| self.median(c, key).is_none()) {
                continue;
            }
            let _ = write!(out, "| {label} |");
            for c in &self.order {
                let cell = match (self.median(c, key), self.ratio(c, key)) {
                    (Some(v), Some(r)) if c != "raw" => format!("{} ({r:.2}×)", short(v)),
                    (Some(v), _) => short(v),
                    (None, _) => "n/a".to_owned(),
                };
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
        out
    }

    /// The targets for spool-segmented: what each needs, what it got.
    #[must_use]
    pub fn targets(&self) -> Vec<Value> {
        let seg = "spool-segmented";
        let over = |other: &str, metric: &str| {
            Some(self.median(seg, metric)? / self.median(other, metric)?)
        };
        let checks: [(&str, Option<f64>, f64, bool); 8] = [
            (
                "appends at batch 1024 ≥ 0.9× raw",
                self.ratio(seg, "append_b1024"),
                0.9,
                true,
            ),
            (
                "16 writers, Data, ≥ 5× raw write+fdatasync per record",
                self.ratio(seg, "append_16w_fsync"),
                5.0,
                true,
            ),
            (
                "fsync per batch of 64 ≥ 0.9× raw",
                self.ratio(seg, "append_b64_fsync"),
                0.9,
                true,
            ),
            (
                "scan with CRC checks ≥ 0.7× raw",
                self.ratio(seg, "scan_mb_s"),
                0.7,
                true,
            ),
            (
                "page p99 ≤ 1.5× raw",
                self.ratio(seg, "page_p99_us"),
                1.5,
                false,
            ),
            (
                "appends at batch 1024 ≥ 10× SQLite",
                over("sqlite", "append_b1024"),
                10.0,
                true,
            ),
            (
                "appends at batch 1024 ≥ 3× commitlog",
                over("commitlog", "append_b1024"),
                3.0,
                true,
            ),
            (
                "open after a crash ≤ 50 ms",
                self.median(seg, "open_after_crash_ms"),
                50.0,
                false,
            ),
        ];
        checks
            .into_iter()
            .map(|(name, got, bound, at_least)| {
                let met = got.map(|g| if at_least { g >= bound } else { g <= bound });
                json!({"target": name, "got": got, "met": met})
            })
            .collect()
    }

    /// Everything as JSON.
    #[must_use]
    pub fn to_json(&self, plan: &Plan, reps: usize, machine: &Value) -> Value {
        let mut contenders = serde_json::Map::new();
        for c in &self.order {
            let mut metrics = serde_json::Map::new();
            for (key, _, _) in METRICS {
                if let Some(samples) = self.samples.get(c).and_then(|m| m.get(key)) {
                    metrics.insert(
                        key.to_owned(),
                        json!({"median": self.median(c, key), "ratioToRaw": self.ratio(c, key), "samples": samples}),
                    );
                }
            }
            contenders.insert(c.clone(), Value::Object(metrics));
        }
        json!({
            "machine": machine,
            "plan": {"records": plan.records, "synced": plan.synced, "pages": plan.pages, "pageLen": plan.page_len},
            "repetitions": reps,
            "contenders": contenders,
            "targets": self.targets(),
        })
    }
}

/// A number in few digits.
fn short(v: f64) -> String {
    match v.abs() {
        x if x >= 1e6 => format!("{:.2} M", v / 1e6),
        x if x >= 1e4 => format!("{:.0} k", v / 1e3),
        x if x >= 100.0 => format!("{v:.0}"),
        x if x >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    }
}

/// The machine: CPU, cores, memory, kernel, and the file system under
/// `dir`.
#[must_use]
pub fn machine(dir: &Path) -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo").lines().find_map(|l| {
        l.strip_prefix("model name")
            .map(|r| r.trim_start_matches([' ', '\t', ':']).to_owned())
    });
    let memory_kb = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|r| r.trim().to_owned()));
    // The longest mount point that holds `dir`.
    let mounts = read("/proc/mounts");
    let fs = mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && dir.starts_with(f[1]))
                .then(|| (f[1].len(), format!("{} on {} ({})", f[0], f[1], f[2])))
        })
        .max()
        .map(|(_, fs)| fs);
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(std::num::NonZero::get).ok(),
        "memory": memory_kb,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "benchDir": dir.display().to_string(),
        "fileSystem": fs,
    })
}
