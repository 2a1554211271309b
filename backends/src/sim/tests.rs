//! SimFs keeps its model: synced bytes and synced names survive every crash,
//! unsynced ones may go (torn by sector, reordered, zero-filled), faults fire
//! exactly where asked, and one seed replays one outcome.

use std::path::Path;

use super::*;

fn fs_with_dir() -> SimFs {
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    fs
}

fn read_all(fs: &SimFs, path: &str) -> Vec<u8> {
    let f = fs.open(Path::new(path), OpenMode::Read).unwrap();
    let mut buf = vec![0u8; usize::try_from(f.len().unwrap()).unwrap()];
    f.read_exact_at(&mut buf, 0).unwrap();
    buf
}

#[test]
fn synced_data_and_names_survive_every_crash() {
    for seed in 0..200 {
        let fs = fs_with_dir();
        let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
        f.write_all_at(&[7u8; 3000], 0).unwrap();
        f.sync_data().unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        f.write_all_at(&[9u8; 1500], 3000).unwrap(); // unsynced
        fs.crash(seed);
        let after = read_all(&fs, "/d/a");
        assert_eq!(&after[..3000], &[7u8; 3000][..], "seed {seed}");
        assert!(after.len() <= 4500);
    }
}

#[test]
fn unsynced_writes_are_torn_by_sector_reordered_or_zero_filled() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..2_000 {
        let fs = fs_with_dir();
        let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
        f.sync_data().unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        f.write_all_at(&[5u8; 2048], 0).unwrap(); // four sectors, unsynced
        fs.crash(seed);
        let after = read_all(&fs, "/d/a");
        // Each sector is all-5 (kept), all-0 (length kept, data lost) or gone
        // past the end; never a partial sector.
        let pattern: Vec<u8> = after
            .chunks(512)
            .map(|s| {
                assert!(
                    s.iter().all(|b| *b == s[0]),
                    "partial sector at seed {seed}"
                );
                s[0]
            })
            .collect();
        outcomes.insert(pattern);
    }
    // Later sectors survive without earlier ones (reordering), tails of zeros
    // appear, and everything or nothing can survive.
    assert!(outcomes.contains(&vec![5, 5, 5, 5]));
    assert!(outcomes.contains(&vec![]));
    assert!(
        outcomes
            .iter()
            .any(|p| p.first() == Some(&0) && p.contains(&5)),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|p| p.last() == Some(&0)),
        "{outcomes:?}"
    );
}

#[test]
fn unsynced_creates_and_renames_may_be_lost_synced_ones_never() {
    let (mut lost_create, mut kept_create) = (false, false);
    for seed in 0..100 {
        let fs = fs_with_dir();
        fs.open(Path::new("/d/new"), OpenMode::CreateNew).unwrap();
        fs.open(Path::new("/d/old"), OpenMode::CreateNew).unwrap();
        fs.sync_dir(Path::new("/d")).unwrap();
        fs.open(Path::new("/d/unsynced"), OpenMode::CreateNew)
            .unwrap();
        fs.rename(Path::new("/d/old"), Path::new("/d/renamed"))
            .unwrap();
        fs.crash(seed);
        let names = fs.list(Path::new("/d")).unwrap();
        let has = |n: &str| names.contains(&PathBuf::from(n));
        assert!(has("new"), "synced create lost at seed {seed}");
        assert!(
            has("old") ^ has("renamed"),
            "a rename must be atomic (seed {seed}): {names:?}"
        );
        if has("unsynced") {
            kept_create = true;
        } else {
            lost_create = true;
        }
    }
    assert!(lost_create && kept_create);
}

#[test]
fn the_same_seed_replays_the_same_crash() {
    let run = |seed| {
        let fs = fs_with_dir();
        let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
        for i in 0..20u8 {
            f.write_all_at(&[i; 700], u64::from(i) * 700).unwrap();
        }
        fs.crash(seed);
        (
            fs.list(Path::new("/d")).unwrap(),
            fs.open(Path::new("/d/a"), OpenMode::Read)
                .map(|f| f.len().unwrap())
                .ok(),
        )
    };
    for seed in [3, 77, 12_345] {
        assert_eq!(run(seed), run(seed));
    }
}

#[test]
fn handles_and_locks_die_with_the_crash() {
    let fs = fs_with_dir();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    let held = fs.lock(Path::new("/d/LOCK")).unwrap();
    assert_eq!(
        fs.lock(Path::new("/d/LOCK")).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    fs.crash(0);
    assert!(
        f.len().is_err(),
        "a handle from before the crash must not work"
    );
    let relocked = fs.lock(Path::new("/d/LOCK")).unwrap();
    drop(held); // dropping the dead guard must not release the new holder's lock
    assert_eq!(
        fs.lock(Path::new("/d/LOCK")).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(relocked);
    fs.lock(Path::new("/d/LOCK")).unwrap();
}

#[test]
fn fail_after_fires_on_the_nth_mutation_once_or_persistently() {
    let fs = fs_with_dir();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    fs.fail_after(2, Fault::NoSpace, FaultMode::Once);
    f.write_all_at(b"a", 0).unwrap();
    f.write_all_at(b"b", 1).unwrap();
    let err = f.write_all_at(b"cccc", 2).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    // A failed write leaves at most a prefix of its bytes.
    let len = f.len().unwrap();
    assert!((2..=6).contains(&len));
    assert_eq!(
        &read_all(&fs, "/d/a")[2..],
        &b"cccc"[..usize::try_from(len - 2).unwrap()]
    );
    f.write_all_at(b"d", 0).unwrap();

    fs.fail_after(1, Fault::Eio, FaultMode::Persistent);
    f.sync_data().unwrap();
    for _ in 0..3 {
        assert!(f.sync_data().is_err());
        assert!(fs.sync_dir(Path::new("/d")).is_err());
    }
    fs.clear_faults();
    f.sync_data().unwrap();
}

#[test]
fn a_failed_sync_forgets_the_unsynced_writes() {
    let fs = fs_with_dir();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    fs.sync_dir(Path::new("/d")).unwrap();
    f.write_all_at(b"lost", 0).unwrap();
    fs.fail_after(0, Fault::Eio, FaultMode::Once);
    assert!(f.sync_data().is_err());
    f.sync_data().unwrap(); // "succeeds": the fsyncgate trap
    assert!(fs.durable_bytes(Path::new("/d/a")).unwrap().is_empty());
    fs.crash(0);
    assert!(read_all(&fs, "/d/a").is_empty());
}

#[test]
fn flip_bit_changes_exactly_one_bit_in_both_images() {
    let fs = fs_with_dir();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    f.write_all_at(&[0u8; 16], 0).unwrap();
    f.sync_data().unwrap();
    fs.sync_dir(Path::new("/d")).unwrap();
    fs.flip_bit(Path::new("/d/a"), 8 * 5 + 3).unwrap();
    let mut want = [0u8; 16];
    want[5] = 8;
    assert_eq!(read_all(&fs, "/d/a"), want);
    assert_eq!(fs.durable_bytes(Path::new("/d/a")).unwrap(), want);
}

#[test]
#[expect(
    unsafe_code,
    reason = "SimFs's map is a copy; the call is unsafe by trait contract only"
)]
fn namespace_rules_match_a_posix_file_system() {
    let fs = fs_with_dir();
    assert_eq!(
        fs.open(Path::new("/nodir/a"), OpenMode::Create)
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
    assert_eq!(
        fs.open(Path::new("/d/a"), OpenMode::Read)
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
    fs.open(Path::new("/d/b"), OpenMode::CreateNew).unwrap();
    fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    assert_eq!(
        fs.open(Path::new("/d/a"), OpenMode::CreateNew)
            .unwrap_err()
            .kind(),
        io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        fs.list(Path::new("/d")).unwrap(),
        vec![PathBuf::from("a"), PathBuf::from("b")]
    );
    let ro = fs.open(Path::new("/d/a"), OpenMode::Read).unwrap();
    assert_eq!(
        ro.write_all_at(b"x", 0).unwrap_err().kind(),
        io::ErrorKind::PermissionDenied
    );
    // An open handle outlives the unlink of its name, as on Unix.
    let rw = fs.open(Path::new("/d/b"), OpenMode::ReadWrite).unwrap();
    fs.remove(Path::new("/d/b")).unwrap();
    rw.write_all_at(b"still", 0).unwrap();
    assert_eq!(rw.len().unwrap(), 5);
    // SAFETY: SimFs maps by copying.
    let copy = unsafe { rw.map(1, 3) }.unwrap();
    assert_eq!(&copy[..], b"til");
    // SAFETY: as above.
    assert!(unsafe { rw.map(4, 3) }.is_err());
}

#[test]
fn reads_are_counted() {
    let fs = fs_with_dir();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    f.write_all_at(&[1u8; 100], 0).unwrap();
    let before = fs.bytes_read();
    let mut buf = [0u8; 40];
    f.read_exact_at(&mut buf, 10).unwrap();
    assert_eq!(fs.bytes_read() - before, 40);
    assert!(fs.mutations() >= 2);
}

#[test]
fn the_journal_rebuilds_every_in_order_crash_point_with_sector_cuts() {
    let fs = SimFs::new(1);
    fs.create_dir_all(Path::new("/d")).unwrap();
    fs.record_journal();
    let f = fs.open(Path::new("/d/a"), OpenMode::CreateNew).unwrap();
    // Bytes 100..1400: three sector pieces (..512, ..1024, ..1400).
    f.write_all_at(&[7u8; 1300], 100).unwrap();
    fs.rename(Path::new("/d/a"), Path::new("/d/b")).unwrap();
    assert_eq!(fs.journal_len(), 3);
    let points = fs.crash_points();
    let lens: Vec<Option<u64>> = points
        .iter()
        .map(|p| {
            let crashed = fs.at_crash_point(*p);
            let name = if p.landed >= 3 { "/d/b" } else { "/d/a" };
            crashed
                .open(Path::new(name), OpenMode::Read)
                .ok()
                .map(|f| f.len().unwrap())
        })
        .collect();
    // Before the create; created and empty; two cuts inside the write; the
    // whole write; renamed.
    assert_eq!(
        lens,
        vec![None, Some(0), Some(512), Some(1024), Some(1400), Some(1400)]
    );
    let cut = fs.at_crash_point(points[2]);
    let mut buf = vec![0u8; 512];
    cut.open(Path::new("/d/a"), OpenMode::Read)
        .unwrap()
        .read_exact_at(&mut buf, 0)
        .unwrap();
    assert!(buf[..100].iter().all(|b| *b == 0) && buf[100..].iter().all(|b| *b == 7));
    // Nothing pending and no lock survives into a crash state.
    let last = fs.at_crash_point(*points.last().unwrap());
    assert!(last.lock(Path::new("/d/LOCK")).is_ok());
}
