//! `Server::run` stops on SIGTERM (what Docker, Kubernetes and systemd send) as on Ctrl-C:
//! it stops accepting, answers what is in flight, and returns within the grace period even
//! while a client holds a half-sent request. Its own test binary: it signals its own process.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use shapeflow_serve::{ServeConfig, Server};
use support::digits;

#[cfg(unix)]
#[test]
fn sigterm_drains_and_returns_within_the_grace_period() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let config = ServeConfig { shutdown_grace: Duration::from_millis(500), ..Default::default() };
    let server = Server::new("digits", digits().0, config);
    let run_addr = addr.clone();
    let running = std::thread::spawn(move || server.run(&run_addr));
    // Wait until it answers, so that its signal handlers are in place.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut c) = TcpStream::connect(&addr) {
            c.write_all(b"GET /v1/models/digits HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            let _ = c.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A client that sends half a request and waits.
    let mut holder = TcpStream::connect(&addr).unwrap();
    holder
        .write_all(b"POST /v1/models/digits:predict HTTP/1.1\r\ncontent-length: 100\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    while !running.is_finished() {
        assert!(signalled.elapsed() < Duration::from_secs(5), "still running 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    running.join().unwrap().unwrap();
    assert!(signalled.elapsed() < Duration::from_millis(2000), "{:?}", signalled.elapsed());
    assert!(TcpStream::connect(&addr).is_err(), "no longer accepting");
}
