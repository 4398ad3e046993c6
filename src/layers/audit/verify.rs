//! Checking a log: every hash, every link, every sequence number, across rotated files.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::record::{Chain, GENESIS, Header, LineError, check_line};

/// Longest line read as a record; anything longer is reported, not held in memory.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What a successful check found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Records checked.
    pub records: u64,
    /// Files that held at least one record.
    pub files: usize,
    /// The first and last sequence numbers (none when there were no records).
    pub seq_range: Option<(u64, u64)>,
    /// `sha256` or `hmac-sha256`.
    pub alg: &'static str,
    /// Things that are not breaks but a reader must know: a torn last line, a chain that
    /// starts after record 1 because older files were not given.
    pub warnings: Vec<String>,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq_range {
            Some((a, b)) => write!(
                f,
                "OK: {} records (seq {a}..={b}) in {} file(s), {} chain intact",
                self.records, self.files, self.alg
            ),
            None => write!(f, "OK: no records"),
        }
    }
}

/// The first record that does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainBreak {
    /// The file.
    pub file: PathBuf,
    /// The line, from 1.
    pub line: u64,
    /// The record's sequence number, when it could be read.
    pub seq: Option<u64>,
    /// What is wrong.
    pub why: String,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BROKEN: {} line {}", self.file.display(), self.line)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        write!(f, ": {}", self.why)
    }
}

/// Why a check failed.
#[derive(Debug)]
pub enum VerifyError {
    /// A file could not be read.
    Io(PathBuf, io::Error),
    /// The chain is broken.
    Broken(ChainBreak),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            VerifyError::Broken(b) => b.fmt(f),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Checks the log in `files` (the active file and rotated ones, in any order: they are put
/// in sequence order by their first record). `hmac_key` is required for a keyed chain and
/// makes an unkeyed one fail.
///
/// A last line without its newline (a write cut short by a crash) is a warning, not a break,
/// when it ends its file: the records before it still verify, and a restarted writer
/// continues the chain from the last complete one in a new file.
pub fn verify_files<P: AsRef<Path>>(
    files: &[P],
    hmac_key: Option<&[u8]>,
) -> Result<VerifyReport, VerifyError> {
    let chain = Chain::new(hmac_key.map(<[u8]>::to_vec));
    let mut ordered = Vec::new();
    for path in files {
        let path = path.as_ref();
        let first = first_seq(path).map_err(|e| VerifyError::Io(path.to_owned(), e))?;
        ordered.push((first, path.to_owned()));
    }
    // Files without a readable first record go first, so their problem is reported.
    ordered.sort_by_key(|(first, _)| first.unwrap_or(0));

    let mut report = VerifyReport {
        records: 0,
        files: 0,
        seq_range: None,
        alg: chain.alg(),
        warnings: Vec::new(),
    };
    let mut last: Option<(u64, String)> = None;
    for (_, path) in &ordered {
        let before = report.records;
        verify_file(path, &chain, &mut last, &mut report)?;
        if report.records > before {
            report.files += 1;
        }
    }
    if let (Some((first, _)), Some((end, _))) = (report.seq_range, &last) {
        report.seq_range = Some((first, *end));
    }
    Ok(report)
}

fn verify_file(
    path: &Path,
    chain: &Chain,
    last: &mut Option<(u64, String)>,
    report: &mut VerifyReport,
) -> Result<(), VerifyError> {
    let io_err = |e| VerifyError::Io(path.to_owned(), e);
    let mut reader = BufReader::new(File::open(path).map_err(io_err)?);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(io_err)?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let broken = |seq: Option<u64>, why: String| {
            VerifyError::Broken(ChainBreak {
                file: path.to_owned(),
                line: line_no,
                seq,
                why,
            })
        };
        if buf.last() != Some(&b'\n') {
            if buf.len() > MAX_LINE_BYTES {
                return Err(broken(None, "the line is too long to be a record".into()));
            }
            // At the end of the file: an interrupted write.
            report.warnings.push(format!(
                "{} line {line_no}: torn last record ({} bytes without a newline: a write \
                 cut short, e.g. by a crash); not part of the chain",
                path.display(),
                buf.len()
            ));
            return Ok(());
        }
        buf.pop();
        let (header, hash) = check_line(&buf, chain).map_err(|e| {
            let seq = serde_json::from_slice::<Header>(&buf).ok().map(|h| h.seq);
            match e {
                LineError::Malformed(why) => broken(seq, why),
                LineError::HashMismatch => broken(
                    seq,
                    "the hash does not match the record: it was changed after it was written"
                        .into(),
                ),
            }
        })?;
        match last {
            None => {
                if header.seq == 1 {
                    if header.prev != GENESIS {
                        return Err(broken(
                            Some(1),
                            "record 1 does not start a chain (its prev is not the genesis hash)"
                                .into(),
                        ));
                    }
                } else {
                    report.warnings.push(format!(
                        "the chain starts at seq {} in {}: earlier records were not given \
                         (rotated away or removed) and are not checked",
                        header.seq,
                        path.display()
                    ));
                }
                report.seq_range = Some((header.seq, header.seq));
            }
            Some((seq, prev_hash)) => {
                if header.seq != *seq + 1 {
                    return Err(broken(
                        Some(header.seq),
                        format!(
                            "expected seq {} after {seq}: records were removed, reordered or \
                             inserted",
                            *seq + 1
                        ),
                    ));
                }
                if header.prev != *prev_hash {
                    return Err(broken(
                        Some(header.seq),
                        format!("prev does not match the hash of record {seq}"),
                    ));
                }
            }
        }
        *last = Some((header.seq, hash));
        report.records += 1;
    }
}

/// The seq of the first complete record of a file, if it has one that parses.
fn first_seq(path: &Path) -> io::Result<Option<u64>> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut buf = Vec::new();
    (&mut reader)
        .take(MAX_LINE_BYTES as u64)
        .read_until(b'\n', &mut buf)?;
    if buf.last() != Some(&b'\n') {
        return Ok(None);
    }
    Ok(serde_json::from_slice::<Header>(&buf[..buf.len() - 1])
        .ok()
        .map(|h| h.seq))
}

use std::io::Read as _;
