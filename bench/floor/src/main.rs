//! The floor under Seam's CPU per call: the HTTP stack Seam is built on, and nothing else.
//!
//! `bench/bound.py` runs this beside nginx and Seam. It proxies `POST /v1/chat/completions`
//! to the fixed-answer upstream with the same parts as Seam's hot path (tokio's
//! single-threaded runtime, the vendored hyper's HTTP/1 server and client halves, mimalloc
//! asked as Seam asks it) and does none of Seam's work: no key, no JSON, no route, no record.
//! Each client connection keeps one upstream connection of its own, which is as cheap as
//! pooling gets. What Seam costs above this is Seam's; what this costs above nginx is the
//! stack's.
//!
//! Usage: `bench-floor LISTEN UPSTREAM` (both `host:port`). The upstream path is picked like
//! the nginx proxy's: `/sse/...` when the request has `X-Bench-Kind: sse`, else `/json/...`.

#[path = "../../../crates/seam/src/alloc.rs"]
mod alloc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use tokio::net::{TcpListener, TcpStream};

#[global_allocator]
static ALLOC: alloc::Mimalloc = alloc::Mimalloc;

type Body = UnsyncBoxBody<Bytes, hyper::Error>;
type Upstream = Rc<RefCell<Option<SendRequest<Full<Bytes>>>>>;

fn main() -> std::process::ExitCode {
    alloc::small_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (listen, upstream) = match (args.first(), args.get(1)) {
        (Some(l), Some(u)) => match (l.parse::<SocketAddr>(), u.parse::<SocketAddr>()) {
            (Ok(l), Ok(u)) => (l, u),
            _ => return usage("LISTEN and UPSTREAM must be host:port addresses"),
        },
        _ => return usage("two arguments are needed"),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return usage(&format!("cannot start tokio: {e}")),
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, serve(listen, upstream)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => usage(&e.to_string()),
    }
}

fn usage(why: &str) -> std::process::ExitCode {
    eprintln!("bench-floor: {why}\nusage: bench-floor LISTEN UPSTREAM (host:port each)");
    std::process::ExitCode::FAILURE
}

async fn serve(listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let conn: Upstream = Rc::new(RefCell::new(None));
        tokio::task::spawn_local(async move {
            let service = hyper::service::service_fn(move |req| proxy(req, upstream, conn.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

async fn proxy(
    req: Request<Incoming>,
    upstream: SocketAddr,
    conn: Upstream,
) -> Result<Response<Body>, hyper::Error> {
    let kind = match req.headers().get("x-bench-kind") {
        Some(v) if v == "sse" => "sse",
        _ => "json",
    };
    let body = req.into_body().collect().await?.to_bytes();
    let forward = Request::post(format!("/{kind}/v1/chat/completions"))
        .header(hyper::header::HOST, upstream.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body));
    let Ok(forward) = forward else {
        return Ok(status(StatusCode::INTERNAL_SERVER_ERROR));
    };
    // HTTP/1 serves one request at a time, so the connection's upstream is never contended.
    let taken = conn.borrow_mut().take();
    let mut sender = match taken {
        Some(s) if !s.is_closed() => s,
        _ => match connect(upstream).await {
            Some(s) => s,
            None => return Ok(status(StatusCode::BAD_GATEWAY)),
        },
    };
    if sender.ready().await.is_err() {
        return Ok(status(StatusCode::BAD_GATEWAY));
    }
    let answer = sender.send_request(forward).await;
    *conn.borrow_mut() = Some(sender);
    match answer {
        Ok(res) => Ok(res.map(|b| b.boxed_unsync())),
        Err(_) => Ok(status(StatusCode::BAD_GATEWAY)),
    }
}

async fn connect(upstream: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
    let tcp = TcpStream::connect(upstream).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .ok()?;
    tokio::task::spawn_local(conn);
    Some(sender)
}

fn status(code: StatusCode) -> Response<Body> {
    let mut res = Response::new(
        Full::new(Bytes::new())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *res.status_mut() = code;
    res
}
