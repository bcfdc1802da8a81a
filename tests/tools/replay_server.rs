//! A replay server for the crawl benchmark (`scripts/bench-crawl`): it measures s3audit, not
//! the emulator. Recorded once through `record` (a proxy in front of the emulator), the
//! organization's answers are served by `serve` from memory, with HTTP/1.1 keep-alive and a
//! fixed delay per request standing in for the network round trip.
//!
//!   replay-server record --upstream http://127.0.0.1:PORT --out FILE
//!   replay-server serve --recording FILE --rtt-ms 30 [--throttle 0.1]
//!
//! `--throttle F` answers that share of the S3 requests `503 SlowDown`, as S3 does under
//! load, to measure how the crawl's retries recover.
//! Both bind 127.0.0.1 on a free port, print `READY http://127.0.0.1:PORT`, and stop when
//! their stdin closes; `record` then writes the recording, `serve` prints its figures
//! (requests, mean and peak requests in flight, misses) as one JSON line.
//!
//! A request is matched on its method, path and query, the signing key id, region and
//! service of its `Authorization` header (not its date), `X-Amz-Target`, and its body. The
//! credentials `AssumeRole` returned during the recording are returned again, so the member
//! accounts' requests carry the same key ids; their expiry is moved an hour past now.

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// One recorded answer.
#[derive(Serialize, Deserialize, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

/// A request as read off the wire.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The service of the request's signature (`s3`, `sts`, ...).
    fn service(&self) -> &str {
        self.header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split(['/', ',']).nth(3))
            .unwrap_or("")
    }

    /// What identifies the request across runs (see the module documentation).
    fn key(&self) -> String {
        let scope = self
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .map(|c| {
                let parts: Vec<&str> = c.split(['/', ',']).collect();
                // AKID / date / region / service / aws4_request
                format!(
                    "{}/{}/{}",
                    parts.first().unwrap_or(&""),
                    parts.get(2).unwrap_or(&""),
                    parts.get(3).unwrap_or(&"")
                )
            })
            .unwrap_or_default();
        format!(
            "{} {} {} {} {}",
            self.method,
            self.target,
            scope,
            self.header("x-amz-target").unwrap_or(""),
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// Reads one request; `None` at the end of the connection.
async fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let byte = match reader.read_u8().await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && head.is_empty() => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        head.push(byte);
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if let Some(length) = request.header("content-length") {
        let length: usize = length.parse().unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        request.body = body;
    }
    Ok(Some(request))
}

fn write_answer(answer: &Answer, body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} OK\r\n", answer.status);
    for (name, value) in &answer.headers {
        let lower = name.to_ascii_lowercase();
        if [
            "connection",
            "content-length",
            "transfer-encoding",
            "date",
            "server",
        ]
        .contains(&lower.as_str())
        {
            continue;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: keep-alive\r\n\r\n",
        body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

/// Forwards a request to the upstream (one connection per request, as the emulator closes
/// them anyway) and parses the answer.
fn forward(upstream: &str, request: &Request) -> std::io::Result<Answer> {
    use std::io::Write as _;
    let mut stream = std::net::TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&request.body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end in the upstream answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Ok(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// Recorded answers, several per key when the same request was answered differently (the
/// crawl asks few things twice; they are replayed in order, the last one repeated).
type Recording = HashMap<String, Vec<Answer>>;

struct Figures {
    requests: AtomicU64,
    misses: AtomicU64,
    throttled: AtomicU64,
    in_flight: AtomicI64,
    peak: AtomicI64,
    /// Sum over requests of their time in flight, in microseconds: divided by the busy
    /// time it is the mean number of requests in flight.
    in_flight_micros: AtomicU64,
    first: std::sync::Mutex<Option<Instant>>,
    last: std::sync::Mutex<Option<Instant>>,
}

async fn serve_connection(
    stream: TcpStream,
    recording: Arc<Recording>,
    replayed: Arc<Mutex<HashMap<String, usize>>>,
    figures: Arc<Figures>,
    rtt: Duration,
    throttle_per_mille: u64,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader).await? {
        let started = Instant::now();
        figures.first.lock().unwrap().get_or_insert(started);
        let now = figures.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        figures.peak.fetch_max(now, Ordering::SeqCst);
        let number = figures.requests.fetch_add(1, Ordering::SeqCst);
        let key = request.key();
        // Throttling, as S3 answers it under load: a fixed share of the S3 requests, spread
        // evenly (a multiplicative hash of the request's number), answered 503 SlowDown.
        let throttled = request.service() == "s3"
            && number.wrapping_mul(2_654_435_761) % 1000 < throttle_per_mille;
        let answer = match recording.get(&key) {
            _ if throttled => {
                figures.throttled.fetch_add(1, Ordering::SeqCst);
                Answer {
                    status: 503,
                    headers: vec![("Content-Type".into(), "application/xml".into())],
                    body: "<Error><Code>SlowDown</Code><Message>Please reduce your request \
                           rate.</Message></Error>"
                        .into(),
                }
            }
            Some(answers) => {
                let mut replayed = replayed.lock().await;
                let index = replayed.entry(key).or_default();
                let answer = answers[(*index).min(answers.len() - 1)].clone();
                *index += 1;
                answer
            }
            None => {
                figures.misses.fetch_add(1, Ordering::SeqCst);
                Answer {
                    status: 500,
                    headers: vec![("Content-Type".into(), "application/xml".into())],
                    body: "<Error><Code>NotRecorded</Code><Message>the replay server has no \
                           recording of this request</Message></Error>"
                        .into(),
                }
            }
        };
        let body = fresh_expiry(&answer.body);
        tokio::time::sleep(rtt).await;
        reader
            .get_mut()
            .write_all(&write_answer(&answer, &body))
            .await?;
        let done = Instant::now();
        figures.in_flight.fetch_sub(1, Ordering::SeqCst);
        figures
            .in_flight_micros
            .fetch_add((done - started).as_micros() as u64, Ordering::SeqCst);
        *figures.last.lock().unwrap() = Some(done);
    }
    Ok(())
}

/// Recorded STS credentials expire; the replay moves their expiry an hour past now.
fn fresh_expiry(body: &str) -> String {
    let Some(start) = body.find("<Expiration>") else {
        return body.to_string();
    };
    let Some(end) = body[start..].find("</Expiration>") else {
        return body.to_string();
    };
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let later = later
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time formats");
    format!(
        "{}<Expiration>{later}{}",
        &body[..start],
        &body[start + end..]
    )
}

async fn record_connection(
    stream: TcpStream,
    upstream: Arc<String>,
    recording: Arc<Mutex<Recording>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader).await? {
        let upstream = upstream.clone();
        let (request, answer) = tokio::task::spawn_blocking(move || {
            let answer = forward(&upstream, &request);
            (request, answer)
        })
        .await
        .expect("the forwarding task does not panic");
        let answer = answer?;
        let body = answer.body.clone();
        recording
            .lock()
            .await
            .entry(request.key())
            .or_default()
            .push(answer.clone());
        reader
            .get_mut()
            .write_all(&write_answer(&answer, &body))
            .await?;
    }
    Ok(())
}

/// Resolves when stdin closes: the server must not outlive whoever started it.
async fn stdin_closed() {
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .expect("the stdin reader does not panic");
}

fn argument(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    match args.get(1).map(String::as_str) {
        Some("record") => {
            let upstream = argument(&args, "--upstream").expect("--upstream URL");
            let upstream = Arc::new(
                upstream
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string(),
            );
            let out = argument(&args, "--out").expect("--out FILE");
            let recording = Arc::new(Mutex::new(Recording::new()));
            println!("READY http://{address}");
            let accept = {
                let recording = recording.clone();
                async move {
                    loop {
                        let (stream, _) = listener.accept().await?;
                        let (upstream, recording) = (upstream.clone(), recording.clone());
                        tokio::spawn(async move {
                            let _ = record_connection(stream, upstream, recording).await;
                        });
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), std::io::Error>(())
                }
            };
            tokio::select! {
                result = accept => result?,
                () = stdin_closed() => {}
            }
            let recording = recording.lock().await;
            let file = std::fs::File::create(&out)?;
            serde_json::to_writer(std::io::BufWriter::new(file), &*recording)?;
            eprintln!("recorded {} requests into {out}", recording.len());
        }
        Some("serve") => {
            let path = argument(&args, "--recording").expect("--recording FILE");
            let rtt_ms: u64 = argument(&args, "--rtt-ms").map_or(0, |v| v.parse().expect("ms"));
            let throttle: f64 =
                argument(&args, "--throttle").map_or(0.0, |v| v.parse().expect("a fraction"));
            let throttle_per_mille = (throttle * 1000.0).round() as u64;
            let text = std::fs::read_to_string(&path)?;
            let recording: Arc<Recording> =
                Arc::new(serde_json::from_str(&text).expect("a recording file"));
            let replayed = Arc::new(Mutex::new(HashMap::new()));
            let figures = Arc::new(Figures {
                requests: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
                in_flight: AtomicI64::new(0),
                peak: AtomicI64::new(0),
                in_flight_micros: AtomicU64::new(0),
                first: std::sync::Mutex::new(None),
                last: std::sync::Mutex::new(None),
            });
            println!("READY http://{address}");
            let accept = {
                let figures = figures.clone();
                async move {
                    loop {
                        let (stream, _) = listener.accept().await?;
                        let (recording, replayed, figures) =
                            (recording.clone(), replayed.clone(), figures.clone());
                        tokio::spawn(async move {
                            let _ = serve_connection(
                                stream,
                                recording,
                                replayed,
                                figures,
                                Duration::from_millis(rtt_ms),
                                throttle_per_mille,
                            )
                            .await;
                        });
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), std::io::Error>(())
                }
            };
            tokio::select! {
                result = accept => result?,
                () = stdin_closed() => {}
            }
            let busy = match (
                *figures.first.lock().unwrap(),
                *figures.last.lock().unwrap(),
            ) {
                (Some(first), Some(last)) => (last - first).as_secs_f64(),
                _ => 0.0,
            };
            let summed = figures.in_flight_micros.load(Ordering::SeqCst) as f64 / 1e6;
            println!(
                "{}",
                serde_json::json!({
                    "requests": figures.requests.load(Ordering::SeqCst),
                    "misses": figures.misses.load(Ordering::SeqCst),
                    "throttled": figures.throttled.load(Ordering::SeqCst),
                    "peak_in_flight": figures.peak.load(Ordering::SeqCst),
                    "mean_in_flight": if busy > 0.0 { summed / busy } else { 0.0 },
                    "busy_seconds": busy,
                })
            );
        }
        _ => {
            eprintln!(
                "usage: replay-server record --upstream URL --out FILE | serve --recording FILE --rtt-ms N [--throttle F]"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
