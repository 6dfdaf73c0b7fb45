//! A tokio/hyper service that confines itself with `rasp::sandbox` and
//! prints its posture.
//!
//! ```text
//! cargo run --release --example lockdown                  # serve on 127.0.0.1:8080
//! cargo run --release --example lockdown -- --self-test   # one request, one violation, exit
//! cargo run --release --example lockdown -- --json        # posture as JSON
//! ```
//!
//! The listener is bound before lockdown (an open socket keeps working;
//! Landlock checks `bind` and `connect`, not `accept`). Lockdown runs inside
//! `#[tokio::main]`, after the worker threads exist: every thread is confined
//! by the per-thread broadcast. Trap mode turns denied syscalls into events
//! printed as `ALERT …` while the service keeps running.

#[cfg(target_os = "linux")]
mod app {
    use std::convert::Infallible;
    use std::error::Error;

    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    use rasp::sandbox::{Lockdown, NetPolicy, ViolationMode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn handle(
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        let body = match req.uri().path() {
            "/healthz" => "ok\n".to_string(),
            "/posture" => rasp::sandbox::posture().to_json(),
            p => format!("hello from a locked-down service: {p}\n"),
        };
        Ok(hyper::Response::new(Full::new(Bytes::from(body))))
    }

    async fn serve(listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
                    .await;
            });
        }
    }

    async fn self_test(port: u16) -> Result<(), Box<dyn Error>> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut resp = String::new();
        s.read_to_string(&mut resp).await?;
        println!(
            "self-test GET /healthz -> {}",
            resp.lines().next().unwrap_or("")
        );
        // What an attacker would try. Each is denied; the seccomp ones are
        // reported as ALERT lines by the violation callback.
        let chroot = std::os::unix::fs::chroot("/tmp");
        println!("self-test chroot(/tmp) -> {chroot:?}");
        // A child started with posix_spawn loses the SIGSYS handler, so its
        // trapped execve kills it with SIGSYS (the service lives on; the
        // kernel audit log has the record).
        use std::os::unix::process::ExitStatusExt;
        match std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("id")
            .status()
        {
            Ok(s) if s.signal() == Some(31) => {
                println!("self-test exec /bin/sh -> child killed by SIGSYS (exec denied)")
            }
            other => println!("self-test exec /bin/sh -> {other:?}"),
        }
        let p = std::fs::write("/etc/rasp-example", b"x");
        println!("self-test write /etc -> {p:?}");
        Ok(())
    }

    pub(crate) async fn main() -> Result<(), Box<dyn Error>> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let json = args.iter().any(|a| a == "--json");
        let test = args.iter().any(|a| a == "--self-test");
        let addr = std::env::var("RASP_LOCKDOWN_ADDR").unwrap_or_else(|_| {
            if test {
                "127.0.0.1:0".into()
            } else {
                "127.0.0.1:8080".into()
            }
        });
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let port = listener.local_addr()?.port();

        let posture = Lockdown::builder()
            // The seed's egress (5432, 443) plus our own port for --self-test.
            .network(NetPolicy::seed_egress().connect(port))
            .violation_mode(ViolationMode::Trap)
            .on_violation(|v| eprintln!("ALERT {v}"))
            .apply()?;
        if json {
            println!("{}", posture.to_json());
        } else {
            print!("{}", posture.summary());
        }
        println!("listening on http://127.0.0.1:{port}/ (try /posture)");

        if test {
            tokio::spawn(serve(listener));
            self_test(port).await?;
            // Let the reporter thread print the alerts before exiting.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            return Ok(());
        }
        serve(listener).await;
        Ok(())
    }
}

#[cfg(target_os = "linux")]
#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    app::main().await
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("rasp::sandbox is Linux-only");
}
