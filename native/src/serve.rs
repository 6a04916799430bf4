//! `codeblock serve`: the previewer page over HTTP on localhost. A static file server and no
//! more: the page does all its work in the browser, in the wasm module.
//!
//! Every request is bounded: its head (request line and headers, parsed by `httparse`) may not
//! exceed [`MAX_HEAD`] bytes, a client gets [`TIMEOUT`] to send it, and a fixed number of
//! workers answer, one connection each, so no client can grow the server's memory or hold all
//! of it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

/// Largest request head read; browsers send a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its head, or to take the answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Connections answered at once (a page load opens a handful).
const WORKERS: usize = 8;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The built page: `web/` after scripts/build-wasm.sh.
    #[arg(long, default_value = "web")]
    dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// 0 picks a free port.
    #[arg(long, default_value_t = 8080)]
    port: u16,
}

pub fn run(args: Args) -> Result<()> {
    let root = args
        .dir
        .canonicalize()
        .with_context(|| format!("cannot open {}", args.dir.display()))?;
    anyhow::ensure!(
        root.join("pkg-languages/codeblock.js").is_file(),
        "{} has no built wasm module (pkg-languages/codeblock.js): run scripts/build-wasm.sh first",
        root.display()
    );
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    println!("previewer at http://{}/ (Ctrl-C to stop)", listener.local_addr()?);
    // Every worker's handle first: a failure here must come before any worker runs forever.
    let listeners = (0..WORKERS)
        .map(|_| listener.try_clone())
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot share the listening socket")?;
    std::thread::scope(|scope| {
        for listener in listeners {
            let root = &root;
            scope.spawn(move || {
                for stream in listener.incoming().flatten() {
                    // A client that hangs up or stalls is its own problem, not the server's.
                    let _ = answer(root, stream);
                }
            });
        }
    });
    Ok(())
}

/// Reads one request and answers it; the connection then closes.
fn answer(root: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let ((status, reason), body, mime) = match read_head(&mut stream)? {
        Head::Path(path) => match file_for(root, &path).and_then(|file| Some((std::fs::read(&file).ok()?, file))) {
            Some((bytes, file)) => ((200, "OK"), bytes, content_type(&file)),
            None => ((404, "Not Found"), b"not found".to_vec(), "text/plain"),
        },
        Head::NotGet => ((405, "Method Not Allowed"), b"only GET".to_vec(), "text/plain"),
        Head::TooLarge => (
            (431, "Request Header Fields Too Large"),
            b"request head too large".to_vec(),
            "text/plain",
        ),
        Head::Malformed => ((400, "Bad Request"), b"bad request".to_vec(), "text/plain"),
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {mime}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

/// What a request head asked for.
#[derive(Debug, PartialEq)]
enum Head {
    Path(String),
    NotGet,
    TooLarge,
    Malformed,
}

/// Reads a request head of at most [`MAX_HEAD`] bytes (a client that stops sending runs into
/// the read timeout, an error).
fn read_head(stream: &mut impl Read) -> std::io::Result<Head> {
    let mut buffer = vec![0u8; MAX_HEAD];
    let mut filled = 0;
    loop {
        let read = stream.read(&mut buffer[filled..])?;
        if read == 0 {
            return Ok(Head::Malformed);
        }
        filled += read;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buffer[..filled]) {
            Ok(httparse::Status::Complete(_)) => {
                return Ok(match (request.method, request.path) {
                    (Some("GET"), Some(path)) => Head::Path(path.to_string()),
                    _ => Head::NotGet,
                });
            }
            Ok(httparse::Status::Partial) if filled == MAX_HEAD => return Ok(Head::TooLarge),
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Ok(Head::TooLarge),
            Err(_) => return Ok(Head::Malformed),
        }
    }
}

/// The file a URL names inside `root`; nothing outside it (no `..`, no links out).
pub fn file_for(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_string()
    };
    let file = root.join(relative).canonicalize().ok()?;
    (file.starts_with(root) && file.is_file()).then_some(file)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_stay_inside_the_root() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
        assert_eq!(file_for(&root, "/Cargo.toml?x=1"), Some(root.join("Cargo.toml")));
        assert_eq!(file_for(&root, "/../Cargo.toml"), None);
        assert_eq!(file_for(&root, "/src/../../Cargo.toml"), None);
        assert_eq!(file_for(&root, "/missing.js"), None);
    }

    #[test]
    fn request_heads_are_bounded() {
        let head = |bytes: &[u8]| read_head(&mut &bytes[..]).unwrap();
        assert_eq!(
            head(b"GET /a.js?x HTTP/1.1\r\nHost: x\r\n\r\n"),
            Head::Path("/a.js?x".into())
        );
        assert_eq!(head(b"POST / HTTP/1.1\r\n\r\n"), Head::NotGet);
        assert_eq!(head(b"GET / HTTP/1.1\r\nHost"), Head::Malformed);
        assert_eq!(head(b"\x00\x01 nonsense\r\n\r\n"), Head::Malformed);
        // An endless line: refused once the buffer is full, the rest never read.
        let endless = std::io::repeat(b'a');
        assert_eq!(read_head(&mut endless.take(1 << 30)).unwrap(), Head::TooLarge);
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(100));
        assert_eq!(head(many.as_bytes()), Head::TooLarge);
    }
}
