//! A minimal HTTP/1.1 client for the nodes' admin API: one request per
//! connection (`Connection: close`), a bounded body, content-length or
//! chunked. The API is ours and answers small JSON documents, so this is all
//! the harness needs, without a client crate and its TLS stack.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Larger answers are refused (a dump of a few thousand partitions is far
/// below it).
const MAX_RESPONSE: u64 = 32 << 20;

/// `method path` on `addr`: the status code and the body, within `timeout`.
pub(crate) async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String), String> {
    tokio::time::timeout(timeout, exchange(addr, method, path))
        .await
        .map_err(|_| format!("{method} http://{addr}{path}: no answer within {timeout:?}"))?
        .map_err(|e| format!("{method} http://{addr}{path}: {e}"))
}

async fn exchange(addr: SocketAddr, method: &str, path: &str) -> Result<(u16, String), String> {
    let mut socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    socket
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .await
        .map_err(|e| e.to_string())?;
    parse_response(&raw)
}

/// The status code and body of a whole HTTP/1.1 response.
pub(crate) fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the response has no end of headers")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or("the response has no status line")?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

/// The body of a chunked transfer: `<hex size>\r\n<data>\r\n` … `0\r\n\r\n`.
fn dechunk(mut rest: &str) -> Result<String, String> {
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").ok_or("a chunk has no size line")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size `{size}`"))?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = after.get(..size).ok_or("a chunk is cut short")?;
        out.push_str(chunk);
        rest = after.get(size..).unwrap_or("").trim_start_matches("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_and_chunked_bodies_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).expect("parses"), (200, "{}".into()));
        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked).expect("parses"),
            (404, "abcde".into())
        );
        assert!(parse_response(b"garbage").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }
}
