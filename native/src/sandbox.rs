//! Running untrusted Python (a model's solutions). Each program runs in a fresh temp dir under
//! bubblewrap: the whole filesystem read-only except that dir, no network, its own pid namespace
//! (so killing the sandbox kills every process it started), dying with us; as an unprivileged
//! user, with prlimit's caps on memory, file size, processes and CPU time; with a wall-clock
//! timeout and a cap on the output kept.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use codeblock_core::eval::results::Outcome;

/// What one program may use.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub memory_mib: u64,
    pub file_mib: u64,
    pub processes: u64,
    /// Bytes of stdout and of stderr kept; the rest is read and dropped.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            memory_mib: 1024,
            file_mib: 16,
            processes: 32,
            output_bytes: 64 * 1024,
        }
    }
}

/// The unprivileged user programs run as (nobody).
const NOBODY: &str = "65534";
/// Lines of a traceback kept in a result.
const TRACEBACK_LINES: usize = 12;

/// Checks that the sandbox works here, with a clear error when it cannot.
pub fn check() -> Result<()> {
    let outcome = run("print('ok')", &Limits::default()).context(
        "the sandbox needs bubblewrap, setpriv and prlimit (Debian: apt-get install bubblewrap util-linux) \
         and permission to create namespaces",
    )?;
    ensure!(outcome == Outcome::Passed, "the sandbox cannot run Python: {outcome:?}");
    Ok(())
}

/// Runs `program` with `python3` in a new sandbox.
pub fn run(program: &str, limits: &Limits) -> Result<Outcome> {
    let dir = tempfile::Builder::new()
        .prefix("codeblock-sandbox-")
        .tempdir()
        .context("cannot create a temp dir")?;
    let path = dir.path();
    std::fs::write(path.join("program.py"), program).context("cannot write the program")?;
    // The unprivileged user must be able to write its own dir, and nothing else.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777))?;
    let mut child = command(path, limits)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start bwrap")?;
    let cap = limits.output_bytes;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let readers = [
        std::thread::spawn(move || capped(stdout, cap)),
        std::thread::spawn(move || capped(stderr, cap)),
    ];
    let deadline = Instant::now() + limits.timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            // bwrap's pid namespace dies with it, and everything the program started with it.
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let [_, stderr] = readers.map(|r| r.join().unwrap_or_default());
    Ok(match status {
        None => Outcome::Timeout,
        Some(status) if status.success() => Outcome::Passed,
        Some(status) => Outcome::Failed {
            error: traceback(&stderr, status.code()),
        },
    })
}

fn command(dir: &Path, limits: &Limits) -> Command {
    let dir_arg = dir.as_os_str();
    let mut command = Command::new("bwrap");
    command
        .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
        .arg("--bind")
        .arg(dir_arg)
        .arg(dir_arg)
        .args(["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts"])
        .args(["--die-with-parent", "--new-session", "--clearenv"])
        .args(["--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin"])
        .arg("--setenv")
        .arg("HOME")
        .arg(dir_arg)
        .arg("--chdir")
        .arg(dir_arg)
        .args(["setpriv", "--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", "--"])
        .arg("prlimit")
        .arg(format!("--as={}", limits.memory_mib << 20))
        .arg(format!("--fsize={}", limits.file_mib << 20))
        .arg(format!("--nproc={}", limits.processes))
        .arg(format!("--cpu={}", limits.timeout.as_secs().max(1) + 1))
        .args(["--", "python3", "-I", "-B", "program.py"]);
    command
}

/// Reads everything, keeping the first `cap` bytes.
fn capped(mut reader: impl Read, cap: usize) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n) = reader.read(&mut buffer) {
        if n == 0 {
            break;
        }
        let room = cap.saturating_sub(kept.len());
        kept.extend_from_slice(&buffer[..n.min(room)]);
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The last lines of stderr, or the exit status when there are none.
fn traceback(stderr: &str, code: Option<i32>) -> String {
    let lines: Vec<&str> = stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(TRACEBACK_LINES)..].join("\n");
    match (tail.is_empty(), code) {
        (false, _) => tail,
        (true, Some(code)) => format!("exit status {code}"),
        (true, None) => "killed by a signal".into(),
    }
}

/// `job(0..count)` on `workers` threads (each job typically a sandboxed program); the results
/// in job order, or the first error.
pub fn in_parallel<T: Send>(count: usize, workers: usize, job: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return Ok(());
                        }
                        let result = job(i)?;
                        results.lock().expect("no worker panics")[i] = Some(result);
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("a worker does not panic")?;
        }
        Ok(())
    })?;
    Ok(results
        .into_inner()
        .expect("no worker panics")
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect())
}
