//! A minimal blocking HTTP/1.1 client for the admin API.
//!
//! Hand-rolled over `std::net::TcpStream` rather than a client crate: the
//! server is ours, every exchange is one small request with `Connection:
//! close` and one JSON body, so a GET or POST, a status line and a
//! content-length or chunked body are all it needs; it spares nodetool a TLS
//! stack and a second runtime.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::de::DeserializeOwned;

/// A response body larger than this is refused (`/metrics` of thousands of
/// tables stays far below it).
const MAX_RESPONSE: u64 = 64 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reads wait this long; flush, compact and drain may legitimately take long.
const READ_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The node could not be reached: the line to print.
    Connect(String),
    /// The node answered with an error: its message.
    Api(String),
    /// The exchange broke or the answer made no sense.
    Protocol(String),
}

/// The admin API of one node.
#[derive(Debug, Clone)]
pub struct AdminClient {
    host: String,
    port: u16,
}

impl AdminClient {
    /// A client for `host:port`.
    pub fn new(host: &str, port: u16) -> Self {
        AdminClient {
            host: host.to_owned(),
            port,
        }
    }

    /// `GET path` (with its query), the JSON body decoded.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.json("GET", path)
    }

    /// `POST path`, the JSON body decoded.
    pub fn post<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.json("POST", path)
    }

    /// `GET path` as text (for `/metrics`).
    pub fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, body) = self.request("GET", path)?;
        let text = String::from_utf8(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        if status != 200 {
            return Err(ClientError::Api(text));
        }
        Ok(text)
    }

    fn json<T: DeserializeOwned>(&self, method: &str, path: &str) -> Result<T, ClientError> {
        let (status, body) = self.request(method, path)?;
        if status != 200 {
            let message = serde_json::from_slice::<crate::admin::api::ApiError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
            return Err(ClientError::Api(message));
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::Protocol(format!("bad answer: {e}")))
    }

    fn request(&self, method: &str, path: &str) -> Result<(u16, Vec<u8>), ClientError> {
        let mut stream = self.connect()?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: 0\r\nAccept: application/json\r\n\r\n",
            self.host, self.port
        );
        let io = |e: std::io::Error| ClientError::Protocol(e.to_string());
        stream.write_all(request.as_bytes()).map_err(io)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_RESPONSE + 1)
            .read_to_end(&mut raw)
            .map_err(io)?;
        if raw.len() as u64 > MAX_RESPONSE {
            return Err(ClientError::Protocol("response too large".into()));
        }
        parse_response(&raw)
    }

    fn connect(&self) -> Result<TcpStream, ClientError> {
        let target = format!("{}:{}", self.host, self.port);
        let fail = |class: &str, message: &str| {
            ClientError::Connect(format!(
                "nodetool: Failed to connect to '{target}' - {class}: '{message}'."
            ))
        };
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|_| fail("UnknownHostException", &self.host))?
            .collect();
        let mut last = fail("UnknownHostException", &self.host);
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => {
                    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
                    let _ = stream.set_write_timeout(Some(CONNECT_TIMEOUT));
                    return Ok(stream);
                }
                Err(e) => {
                    last = match e.kind() {
                        std::io::ErrorKind::ConnectionRefused => {
                            fail("ConnectException", "Connection refused")
                        }
                        std::io::ErrorKind::TimedOut => {
                            fail("SocketTimeoutException", "connect timed out")
                        }
                        _ => fail("IOException", &e.to_string()),
                    }
                }
            }
        }
        Err(last)
    }
}

/// Status code and body of a complete HTTP/1.1 response.
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>), ClientError> {
    let bad = |what: &str| ClientError::Protocol(format!("malformed HTTP response: {what}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("headers not UTF-8"))?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body).ok_or_else(|| bad("chunked body"))?
    } else {
        match length {
            Some(n) => body.get(..n).ok_or_else(|| bad("short body"))?.to_vec(),
            None => body.to_vec(),
        }
    };
    Ok((status, body))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// `value` percent-encoded for a query string.
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(raw), Ok((200, b"{}".to_vec())));
        let raw = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw), Ok((400, b"abcd".to_vec())));
        assert!(parse_response(b"HTTP/1.1 200").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
