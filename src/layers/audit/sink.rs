//! Where records go: the [`AuditSink`] trait and the rotating [`FileSink`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::config::AuditConfig;
use super::record::{Header, day_of};

/// Bytes read from the end of a file to find its last record.
const TAIL_WINDOW: u64 = 4 * 1024 * 1024;

/// Where the writer appends records. Implement it to send the log elsewhere (a socket, a
/// write-once store); [`FileSink`] is the one built in.
pub trait AuditSink: Send + 'static {
    /// Appends `batch`: whole records, each ending in `\n`, the first with sequence number
    /// `first_seq`. On an error no part of `batch` may remain: the writer retries it whole.
    fn append(&mut self, batch: &[u8], first_seq: u64) -> io::Result<()>;

    /// Forces what was appended onto durable storage.
    fn sync(&mut self) -> io::Result<()>;

    /// The last complete record already stored (without its newline), so a restarted writer
    /// continues its chain. The default, `None`, starts a new chain.
    fn last_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

/// The file sink: an append-only file, mode 0600, rotated by size and/or UTC day into
/// `<name>.<first seq, 16 digits>` beside it, with retention by count and age.
///
/// Opening it finds the last complete record (in the active file, or else in the newest
/// rotated one) so the chain continues. An active file whose last line is torn (a crash in
/// the middle of a write) is set aside as a rotated file, untouched, and a new one started:
/// `verify` reports the torn line as such.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    dir: PathBuf,
    name: String,
    file: File,
    size: u64,
    first_seq: Option<u64>,
    day: Option<String>,
    max_bytes: Option<u64>,
    rotate_daily: bool,
    keep_files: Option<usize>,
    max_age: Option<Duration>,
    last: Option<Vec<u8>>,
    set_aside: Option<PathBuf>,
}

impl FileSink {
    /// Opens (or creates) the log at `config.path`.
    pub fn open(config: &AuditConfig) -> io::Result<Self> {
        let path = config
            .path
            .clone()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "audit.path is not set"))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "audit.path must end in a UTF-8 file name",
                )
            })?
            .to_owned();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
        }
        let mut set_aside = None;
        let mut state = scan(&path)?;
        if state.torn {
            // Keep the torn file as evidence; the chain goes on in a fresh one.
            let seq = match state.first {
                Some((seq, _)) => seq,
                None => last_rotated(&dir, &name)?
                    .and_then(|p| scan(&p).ok())
                    .and_then(|s| s.last)
                    .and_then(|l| serde_json::from_slice::<Header>(&l).ok())
                    .map_or(0, |h| h.seq + 1),
            };
            let target = free_name(&dir, &name, seq);
            fs::rename(&path, &target)?;
            sync_dir(&dir);
            tracing::warn!(
                target: "agent_airlock::audit",
                file = %target.display(),
                "the audit log ended in a torn record (an interrupted write); set it aside and started a new file"
            );
            set_aside = Some(target);
            let last = state.last.take();
            state = Scan {
                last,
                ..Scan::default()
            };
        }
        let mut last = state.last;
        if last.is_none()
            && let Some(rotated) = last_rotated(&dir, &name)?
        {
            last = scan(&rotated)?.last;
        }
        let file = open_append(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            dir,
            name,
            file,
            size,
            first_seq: state.first.as_ref().map(|(seq, _)| *seq),
            day: state.first.and_then(|(_, ts)| day_of(&ts)),
            max_bytes: config.max_file_bytes,
            rotate_daily: config.rotate_daily,
            keep_files: config.keep_files,
            max_age: config
                .max_age_days
                .map(|d| Duration::from_secs(d.saturating_mul(86_400))),
            last,
            set_aside,
        })
    }

    /// The torn file set aside when opening, if any.
    pub fn set_aside(&self) -> Option<&Path> {
        self.set_aside.as_deref()
    }

    /// The active file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        let target = free_name(&self.dir, &self.name, self.first_seq.unwrap_or(0));
        fs::rename(&self.path, &target)?;
        self.file = open_append(&self.path)?;
        sync_dir(&self.dir);
        self.size = 0;
        self.first_seq = None;
        self.day = None;
        self.retain();
        Ok(())
    }

    /// Removes rotated files past the count and age limits. Failures are logged, not fatal:
    /// retention must never stop the recording.
    fn retain(&self) {
        if self.keep_files.is_none() && self.max_age.is_none() {
            return;
        }
        let mut rotated = match rotated_files(&self.dir, &self.name) {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(target: "agent_airlock::audit", error = %e, "could not list rotated audit files");
                return;
            }
        };
        let now = SystemTime::now();
        let mut remove = Vec::new();
        if let Some(keep) = self.keep_files {
            let excess = rotated.len().saturating_sub(keep);
            remove.extend(rotated.drain(..excess));
        }
        if let Some(age) = self.max_age {
            rotated.retain(|p| {
                let old = fs::metadata(p)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > age);
                if old {
                    remove.push(p.clone());
                }
                !old
            });
        }
        for p in remove {
            if let Err(e) = fs::remove_file(&p) {
                tracing::warn!(target: "agent_airlock::audit", file = %p.display(), error = %e, "could not remove an old audit file");
            }
        }
    }
}

impl AuditSink for FileSink {
    fn append(&mut self, batch: &[u8], first_seq: u64) -> io::Result<()> {
        let today = self.rotate_daily.then(today);
        if self.size > 0 {
            let too_big = self
                .max_bytes
                .is_some_and(|max| self.size + batch.len() as u64 > max);
            let new_day = today.is_some() && self.day.is_some() && self.day != today;
            if too_big || new_day {
                self.rotate()?;
            }
        }
        let before = self.size;
        if let Err(e) = self.file.write_all(batch) {
            // Leave no partial record behind: the whole batch is retried.
            let _ = self.file.set_len(before);
            return Err(e);
        }
        self.size += batch.len() as u64;
        if self.first_seq.is_none() {
            self.first_seq = Some(first_seq);
            self.day = today.or_else(|| Some(self::today()));
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn last_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        Ok(self.last.take())
    }
}

fn today() -> String {
    day_of(&jiff::Timestamp::now().to_string()).unwrap_or_default()
}

fn open_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode on open: tighten it.
    let mut perms = file.metadata()?.permissions();
    if perms.mode() & 0o077 != 0 {
        perms.set_mode(0o600);
        file.set_permissions(perms)?;
    }
    Ok(file)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `<name>.<seq:016>`, or with `-1`, `-2`… when taken.
fn free_name(dir: &Path, name: &str, seq: u64) -> PathBuf {
    let base = dir.join(format!("{name}.{seq:016}"));
    if !base.exists() {
        return base;
    }
    (1..)
        .map(|n| dir.join(format!("{name}.{seq:016}-{n}")))
        .find(|p| !p.exists())
        .expect("some suffix is free")
}

/// Rotated files of `name` in `dir`, oldest first.
pub(crate) fn rotated_files(dir: &Path, name: &str) -> io::Result<Vec<PathBuf>> {
    let prefix = format!("{name}.");
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some(rest) = file_name.strip_prefix(&prefix) else {
            continue;
        };
        let digits = rest.split('-').next().unwrap_or("");
        if digits.len() == 16 && digits.bytes().all(|b| b.is_ascii_digit()) {
            files.push((rest.to_owned(), entry.path()));
        }
    }
    files.sort_by_key(|(rest, _)| sort_key(rest));
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

fn sort_key(rest: &str) -> (String, u64) {
    let mut parts = rest.splitn(2, '-');
    let seq = parts.next().unwrap_or("").to_owned();
    let n = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (seq, n)
}

fn last_rotated(dir: &Path, name: &str) -> io::Result<Option<PathBuf>> {
    Ok(rotated_files(dir, name)?.pop())
}

/// What opening finds in a file.
#[derive(Debug, Default)]
struct Scan {
    /// The first complete record's seq and timestamp.
    first: Option<(u64, String)>,
    /// The last complete line.
    last: Option<Vec<u8>>,
    /// Bytes after the last newline.
    torn: bool,
}

fn scan(path: &Path) -> io::Result<Scan> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Scan::default()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Scan::default());
    }
    // First line.
    let mut first = None;
    {
        let mut head = Vec::new();
        (&mut file).take(TAIL_WINDOW).read_to_end(&mut head)?;
        if let Some(end) = head.iter().position(|&b| b == b'\n')
            && let Ok(h) = serde_json::from_slice::<Header>(&head[..end])
        {
            first = Some((h.seq, h.ts));
        }
    }
    // Last complete line: search a window at the end, the whole file if it holds none.
    let mut start = len.saturating_sub(TAIL_WINDOW);
    loop {
        file.seek(SeekFrom::Start(start))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail)?;
        let torn = tail.last() != Some(&b'\n');
        let complete = match tail.iter().rposition(|&b| b == b'\n') {
            Some(end) => &tail[..end],
            None if start == 0 => {
                return Ok(Scan {
                    first,
                    last: None,
                    torn,
                });
            }
            None => {
                start = 0;
                continue;
            }
        };
        match complete.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                return Ok(Scan {
                    first,
                    last: Some(complete[i + 1..].to_vec()),
                    torn,
                });
            }
            None if start == 0 => {
                return Ok(Scan {
                    first,
                    last: Some(complete.to_vec()),
                    torn,
                });
            }
            None => start = 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_utc_day_rotates_the_file() {
        let dir = std::env::temp_dir().join(format!("airlock-sink-day-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let config = AuditConfig {
            path: Some(dir.join("audit.jsonl")),
            rotate_daily: true,
            ..AuditConfig::default()
        };
        let mut sink = FileSink::open(&config).unwrap();
        sink.append(b"{\"seq\":1}\n", 1).unwrap();
        assert_eq!(sink.day.as_deref(), Some(today().as_str()));
        sink.append(b"{\"seq\":2}\n", 2).unwrap();
        assert!(rotated_files(&dir, "audit.jsonl").unwrap().is_empty());
        // The file was started yesterday (as far as the sink knows).
        sink.day = Some("2000-01-01".into());
        sink.append(b"{\"seq\":3}\n", 3).unwrap();
        let rotated = rotated_files(&dir, "audit.jsonl").unwrap();
        assert_eq!(rotated.len(), 1);
        assert!(rotated[0].ends_with("audit.jsonl.0000000000000001"));
        assert_eq!(
            fs::read(&rotated[0]).unwrap(),
            b"{\"seq\":1}\n{\"seq\":2}\n"
        );
        assert_eq!(fs::read(dir.join("audit.jsonl")).unwrap(), b"{\"seq\":3}\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
