//! Real filesystem faults: a full disk and a directory the writer may not write. Each must give
//! an error of the right kind naming the path, keep the previous content, and leave nothing.

use std::path::PathBuf;
use std::process::Command;

use atio::{ErrorKind, Options, StagedDir};

use crate::support::{assert_no_leftovers, is_root, stderr};

/// A 2 MiB tmpfs mounted for one test, unmounted on drop.
struct SmallDisk {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts one; `None` (said loudly) when not root. CI runs as root, so it always runs there.
    fn mount() -> Option<Self> {
        if !is_root() {
            eprintln!(
                "SKIPPED: mounting a 2 MiB tmpfs for the full-disk test needs root (CI runs as root)"
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("small");
        std::fs::create_dir(&mount).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&mount)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mount -t tmpfs failed although we are root"
        );
        Some(Self { mount, _dir: dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mount).status();
    }
}

#[test]
fn a_full_disk_keeps_the_previous_file_and_partition() {
    let Some(disk) = SmallDisk::mount() else {
        return;
    };
    let file = disk.mount.join("data.bin");
    atio::write_bytes(&file, b"previous", &Options::default()).unwrap();
    let error = atio::write_bytes(&file, &vec![1u8; 4 << 20], &Options::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    assert!(error.to_string().contains("data.bin"), "{error}");
    assert_eq!(std::fs::read(&file).unwrap(), b"previous");
    atio::verify(&file).unwrap();
    assert_no_leftovers(&disk.mount);

    // A caller that ignores the failed write cannot commit half-written content.
    let mut half = atio::AtomicFile::create(&file, &Options::default()).unwrap();
    assert!(std::io::Write::write_all(&mut half, &vec![4u8; 4 << 20]).is_err());
    let error = half.commit().unwrap_err();
    assert!(
        error.to_string().contains("earlier write failed"),
        "{error}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"previous");
    assert_no_leftovers(&disk.mount);

    let output = crate::support::run_atio(&disk.mount, &["put", "data.bin"], &vec![2u8; 4 << 20]);
    assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("No space left"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"previous");
    assert_no_leftovers(&disk.mount);

    let partition = disk.mount.join("dt=1");
    let mut staged = StagedDir::create(&partition, &Options::default()).unwrap();
    staged.add_bytes("part-00000.bin", b"old part").unwrap();
    staged.commit().unwrap();
    let mut staged = StagedDir::create(&partition, &Options::default()).unwrap();
    let error = staged
        .add_bytes("part-00000.bin", &vec![3u8; 4 << 20])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    drop(staged);
    assert_eq!(
        std::fs::read(partition.join("part-00000.bin")).unwrap(),
        b"old part"
    );
    atio::verify_dir(&partition).unwrap();
    assert_no_leftovers(&disk.mount);
}

#[test]
fn a_partition_the_writer_may_not_replace_stays_intact() {
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("pop");
    let mut staged = StagedDir::create(root.join("dt=1"), &Options::default()).unwrap();
    staged.add_bytes("part-00000.csv", b"v\n1\n").unwrap();
    staged.commit().unwrap();
    std::fs::write(dir.path().join("in.csv"), b"v\n2\n").unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o555)).unwrap();
    let output = crate::support::atio_unprivileged(
        &["write", "in.csv", "pop/dt=1/", "--format", "csv"],
        dir.path(),
    );
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(stderr(&output).contains("pop"), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(root.join("dt=1/part-00000.csv")).unwrap(),
        b"v\n1\n"
    );
    atio::verify_dir(root.join("dt=1")).unwrap();
    assert_no_leftovers(dir.path());
}
