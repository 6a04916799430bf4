//! `codeblock serve`: the previewer page over HTTP on localhost. A static file server and no
//! more: the page does all its work in the browser, in the wasm module.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tiny_http::{Header, Response, Server};

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
        root.join("pkg/codeblock.js").is_file(),
        "{} has no built wasm module (pkg/codeblock.js): run scripts/build-wasm.sh first",
        root.display()
    );
    let server = Server::http((args.host.as_str(), args.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let address = server.server_addr().to_ip().context("not an IP address")?;
    println!("previewer at http://{address}/ (Ctrl-C to stop)");
    for request in server.incoming_requests() {
        let response = match file_for(&root, request.url()) {
            Some(path) => match std::fs::read(&path) {
                Ok(bytes) => Response::from_data(bytes).with_header(content_type(&path)),
                Err(_) => Response::from_string("not found").with_status_code(404),
            },
            None => Response::from_string("not found").with_status_code(404),
        };
        // A client that hangs up mid-response is its own problem, not the server's.
        let _ = request.respond(response);
    }
    Ok(())
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

fn content_type(path: &Path) -> Header {
    let mime = match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    Header::from_bytes("Content-Type", mime).expect("a valid header")
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
}
