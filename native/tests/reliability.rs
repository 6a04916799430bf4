//! What a killed run leaves, and what `serve` refuses: a `select` killed while writing leaves
//! nothing under its output's name (a rerun then writes it whole), and the previewer's server
//! listens on localhost only and answers nothing outside its folder, however the request
//! reaches for it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{codeblock, read_jsonl, scratch};

#[test]
fn a_select_killed_while_writing_leaves_no_output() {
    let dir = scratch("killed-select");
    let input = dir.join("pairs.jsonl");
    let pair = r#"{"prompt": "Add two numbers.", "completion": "Here:\n```python\ndef add(a, b):\n    total = a + b\n    return total\n```"}"#;
    let records = 20_000;
    std::fs::write(&input, format!("{pair}\n").repeat(records)).unwrap();
    let out = dir.join("selected.jsonl");
    let partial = dir.join("selected.jsonl.partial");
    let select = || {
        let mut command = codeblock();
        command.args(["select", "--input"]).arg(&input).arg("--out").arg(&out);
        command
    };
    let mut child = select().stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    // SIGKILL as soon as it has begun writing its output.
    let started = Instant::now();
    while !partial.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "select finished before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "select never began writing"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "a killed select left {}", out.display());

    // A rerun writes the whole file under its name, over the killed run's partial one.
    let rerun = select().output().unwrap();
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert_eq!(read_jsonl(&out).len(), records);
    assert!(!partial.exists());
}

/// `codeblock serve` on a folder, with the address it printed.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &std::path::Path) -> Server {
    let mut child = codeblock()
        .args(["serve", "--port", "0", "--dir"])
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8(line).unwrap();
    let address = line
        .strip_prefix("previewer at http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    Server { child, address }
}

/// The status code and body of one raw request.
fn request(address: &str, raw: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    // A server that refuses a request early may close before it has all of it.
    let _ = stream.write_all(raw);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).to_string();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_string();
    (status, body)
}

fn get(address: &str, path: &str) -> (u16, String) {
    request(
        address,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[test]
fn serve_answers_only_inside_its_folder() {
    let dir = scratch("serve");
    let web = dir.join("web");
    std::fs::create_dir_all(web.join("pkg-languages")).unwrap();
    std::fs::write(web.join("index.html"), "<p>the page</p>").unwrap();
    std::fs::write(web.join("pkg-languages/codeblock.js"), "export {}").unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), web.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(&*dir, web.join("outside")).unwrap();
    let server = serve(&web);
    assert!(server.address.starts_with("127.0.0.1:"), "{}", server.address);

    assert_eq!(get(&server.address, "/"), (200, "<p>the page</p>".into()));
    for reach in [
        "/../secret.txt",
        "/pkg-languages/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/link.txt",
        "/outside/secret.txt",
        "//secret.txt",
    ] {
        let (status, body) = get(&server.address, reach);
        assert_eq!(status, 404, "{reach} was answered: {body}");
        assert!(!body.contains("secret"), "{reach}: {body}");
    }
    // An absurd request line (a megabyte of path) is refused, and the server goes on.
    let absurd = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a/".repeat(1 << 19)
    );
    let (status, _) = request(&server.address, absurd.as_bytes());
    assert!(status == 431 || status == 0, "a megabyte request line got {status}");
    // Clients that stall mid-request hold a worker each until they time out, not the server.
    let stalled: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut stream = TcpStream::connect(&server.address).unwrap();
            stream.write_all(b"GET /index.html HTTP/1.1\r\nHost").unwrap();
            stream
        })
        .collect();
    assert_eq!(get(&server.address, "/pkg-languages/codeblock.js").0, 200);
    assert_eq!(request(&server.address, b"POST / HTTP/1.1\r\n\r\n").0, 405);
    drop(stalled);
}
