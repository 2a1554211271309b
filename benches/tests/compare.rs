//! Goal: the side-by-side harness runs end to end (its crash child and its
//! memory child included) and writes the JSON it documents.
//! Method: run the built `compare` binary on its quick plan, one
//! repetition, for the raw limit and spool's segmented backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn compare_writes_every_metric_with_ratios_and_the_targets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("compare.json");
    let run = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args([
            "--quick",
            "--reps",
            "1",
            "--only",
            "raw,spool-segmented",
            "--out",
        ])
        .arg(&out)
        .env("BENCH_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(
        table.contains("| metric | raw | spool-segmented |"),
        "{table}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let seg = &report["contenders"]["spool-segmented"];
    for metric in [
        "append_b1",
        "append_b64",
        "append_b1024",
        "append_b1_fsync",
        "append_b64_fsync",
        "append_b1024_fsync",
        "append_16w_fsync",
        "scan_mb_s",
        "page_p50_us",
        "page_p99_us",
        "open_after_crash_ms",
        "disk_bytes_per_payload_byte",
        "peak_rss_mb",
    ] {
        let m = &seg[metric];
        assert!(m["median"].as_f64().unwrap() > 0.0, "{metric}: {m}");
        assert!(m["ratioToRaw"].as_f64().unwrap() > 0.0, "{metric}: {m}");
    }
    assert_eq!(report["targets"].as_array().unwrap().len(), 8);
    assert!(report["machine"]["cores"].as_u64().unwrap() >= 1);
    assert_eq!(report["repetitions"], 1);
}
