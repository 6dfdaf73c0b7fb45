//! Test support: running scenarios in child processes and the service
//! checks that must keep working after lockdown.
#![allow(dead_code)]

pub mod escape;

use std::convert::Infallible;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Env var carrying the scenario name to the child.
pub const SCENARIO_ENV: &str = "RASP_SANDBOX_SCENARIO";
/// Printed by a child that ran its scenario to the end.
pub const OK_MARKER: &str = "RASP-SANDBOX-SCENARIO-OK";

/// Whether this process is a child running `name`.
pub fn is_child(name: &str) -> bool {
    std::env::var(SCENARIO_ENV).ok().as_deref() == Some(name)
}

/// Output of a child run.
pub struct ChildRun {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ChildRun {
    pub fn ok(&self) -> bool {
        self.status.success() && self.stdout.contains(OK_MARKER)
    }

    pub fn explain(&self) -> String {
        format!(
            "child status {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// Re-executes this test binary to run the ignored entry test `child_<name>`
/// with the scenario env var set, and waits at most 60 s.
pub fn run_child(name: &str) -> ChildRun {
    let exe = std::env::current_exe().expect("current test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            &format!("child_{name}"),
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO_ENV, name)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child test");
    let out = child.stdout.take();
    let err = child.stderr.take();
    let read = |r: Option<std::process::ChildStdout>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = std::io::Read::read_to_string(&mut r, &mut s);
            }
            s
        })
    };
    let out_t = read(out);
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut r) = err {
            let _ = std::io::Read::read_to_string(&mut r, &mut s);
        }
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                break child.wait().expect("wait after kill");
            }
        }
    };
    ChildRun {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// Runs the child scenario and asserts it passed.
pub fn expect_child_ok(name: &str) -> ChildRun {
    let run = run_child(name);
    assert!(run.ok(), "scenario {name} failed\n{}", run.explain());
    run
}

/// A std thread created before lockdown that runs jobs sent to it.
pub struct Worker {
    tx: mpsc::Sender<Box<dyn FnOnce() + Send>>,
}

impl Worker {
    pub fn spawn(name: &str) -> Worker {
        let (tx, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .expect("spawn worker");
        Worker { tx }
    }

    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("worker alive");
        rx.recv_timeout(Duration::from_secs(20))
            .expect("worker answered")
    }
}

/// Runs `f` once on each of `workers` distinct tokio worker threads (a
/// spinning barrier keeps each task on its own worker) and returns the
/// thread ids with the results.
pub async fn on_every_worker<T: Send + 'static>(
    workers: usize,
    f: impl Fn() -> T + Send + Sync + 'static,
) -> Vec<(i32, T)> {
    let arrived = Arc::new(AtomicUsize::new(0));
    let f = Arc::new(f);
    let mut handles = Vec::new();
    for _ in 0..workers {
        let arrived = arrived.clone();
        let f = f.clone();
        handles.push(tokio::spawn(async move {
            arrived.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(5);
            while arrived.load(Ordering::SeqCst) < workers && Instant::now() < deadline {
                std::thread::yield_now();
            }
            // SAFETY: no arguments.
            let tid = unsafe { libc::gettid() };
            (tid, f())
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// Starts a hyper HTTP/1 server on a listener bound before lockdown.
pub fn start_server(listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    |req: hyper::Request<hyper::body::Incoming>| async move {
                        let body = format!("hello {}", req.uri().path());
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(())
}

/// One GET through hyper's client to 127.0.0.1:`port`.
pub async fn http_get(port: u16, path: &str) -> Result<String, String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    let req = hyper::Request::get(path)
        .header(hyper::header::HOST, "localhost")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The "keeps working" list: hyper server+client on loopback, tokio fs
/// under /tmp, spawn_blocking, a new thread, timers, DNS via /etc/hosts.
pub async fn service_keeps_working(server_port: u16) -> Vec<String> {
    let mut failures = Vec::new();
    for i in 0..3 {
        match http_get(server_port, &format!("/r{i}")).await {
            Ok(body) if body == format!("hello /r{i}") => {}
            other => failures.push(format!("hyper GET: {other:?}")),
        }
    }
    let dir = escape::tmp_path("fs");
    let fs = async {
        tokio::fs::create_dir_all(&dir).await?;
        let a = dir.join("a.txt");
        let b = dir.join("b.txt");
        tokio::fs::write(&a, b"payload").await?;
        tokio::fs::rename(&a, &b).await?;
        let back = tokio::fs::read(&b).await?;
        let meta = tokio::fs::metadata(&b).await?;
        tokio::fs::remove_file(&b).await?;
        tokio::fs::remove_dir(&dir).await?;
        Ok::<_, std::io::Error>((back, meta.len()))
    };
    match fs.await {
        Ok((back, 7)) if back == b"payload" => {}
        other => failures.push(format!("tokio fs under {}: {other:?}", escape::show(&dir))),
    }
    match tokio::task::spawn_blocking(|| 6 * 7).await {
        Ok(42) => {}
        other => failures.push(format!("spawn_blocking: {other:?}")),
    }
    match std::thread::Builder::new()
        .name("after-lockdown".into())
        .spawn(|| 1 + 1)
        .map(|h| h.join())
    {
        Ok(Ok(2)) => {}
        other => failures.push(format!("new thread: {other:?}")),
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut iv = tokio::time::interval(Duration::from_millis(5));
    for _ in 0..3 {
        iv.tick().await;
    }
    if start.elapsed() < Duration::from_millis(20) {
        failures.push("timers fired early".into());
    }
    match tokio::net::lookup_host("localhost:80").await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            if !addrs.iter().any(|a| a.ip().is_loopback()) {
                failures.push(format!("DNS localhost gave {addrs:?}"));
            }
        }
        Err(e) => failures.push(format!("DNS via /etc/hosts: {e}")),
    }
    failures
}

/// Collected events for trap-mode tests.
pub type Events = Arc<Mutex<Vec<rasp_sandbox::Violation>>>;

/// Finds the seccomp profile directory: `$RASP_SECCOMP_DIR`, else
/// `../shared/seccomp` from the workspace root. Missing data fails loudly.
pub fn seccomp_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("RASP_SECCOMP_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seccomp")
        });
    assert!(
        dir.join("docker-default.json").is_file(),
        "seccomp profiles not found in {} (set RASP_SECCOMP_DIR)",
        dir.display()
    );
    dir
}
