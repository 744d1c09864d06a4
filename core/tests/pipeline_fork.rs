//! fork(): the child gets a working client and sends only its own events; the parent still
//! sends what it had queued; nothing goes out twice. Alone in its own test binary because it
//! forks the test process.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use tracklane_core::message::new_message_id;

/// Waits for `pid` up to `timeout`; kills it and fails if it hangs.
fn wait_child(pid: libc::pid_t, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        let mut status = 0;
        // SAFETY: plain waitpid on our own child.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            return if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                -1
            };
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_forked_child_delivers_its_own_events_once_and_the_parent_its_own() {
    let c = collector();
    let mut options = fast_options(vec![destination(&c, "segment")]);
    // Nothing leaves the parent before the fork: the child inherits a full queue.
    options["flush_interval_ms"] = json!(60_000);
    let client = client(options);
    for n in 0..10 {
        client.enqueue(event("parent", n)).unwrap();
    }
    // SAFETY: the child only uses the tracklane client (which rebuilds its runtime and
    // engine after fork) and leaves with _exit, never unwinding into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut ok = true;
        for n in 0..5 {
            ok &= client
                .enqueue(event("child", n))
                .map(|o| o.status() == "queued")
                .unwrap_or(false);
        }
        let report = client.flush(Duration::from_secs(10));
        ok &= report.delivered == 5 && report.is_complete();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    assert_eq!(
        wait_child(pid, Duration::from_secs(30)),
        0,
        "child delivered its 5 events"
    );
    let report = client.flush(Duration::from_secs(10));
    assert_eq!(report.delivered, 10, "the parent still sends its own queue");
    assert_eq!(stat(&c, "segment", "unique_ids"), 15);
    assert_eq!(
        stat(&c, "segment", "duplicate_ids"),
        0,
        "the child did not resend the parent's events"
    );
    let child_events = c
        .requests_for("segment")
        .iter()
        .flat_map(|r| r.body["batch"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["event"] == "child")
        .count();
    assert_eq!(child_events, 5);
}

#[test]
fn a_forked_child_draws_message_ids_the_parent_does_not() {
    // The parent draws ids before the fork, so the id generator's state is inherited.
    let before: Vec<String> = (0..3).map(|_| new_message_id()).collect();
    let mut fds = [0; 2];
    // SAFETY: a plain pipe for the child to report its ids through.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_end, write_end) = (fds[0], fds[1]);
    // SAFETY: the child only draws ids, writes them to the pipe and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ids: String = (0..100).map(|_| new_message_id() + "\n").collect();
        let written = unsafe { libc::write(write_end, ids.as_ptr().cast(), ids.len()) };
        unsafe { libc::_exit(if written == ids.len() as isize { 0 } else { 1 }) };
    }
    unsafe { libc::close(write_end) };
    let parent: Vec<String> = (0..100).map(|_| new_message_id()).collect();
    assert_eq!(wait_child(pid, Duration::from_secs(30)), 0);
    let mut text = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = unsafe { libc::read(read_end, chunk.as_mut_ptr().cast(), chunk.len()) };
        if n <= 0 {
            break;
        }
        text.extend_from_slice(&chunk[..n as usize]);
    }
    unsafe { libc::close(read_end) };
    let child: Vec<String> = String::from_utf8(text)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(child.len(), 100, "the child reported its ids");
    let shared: Vec<&String> = child
        .iter()
        .filter(|id| parent.contains(id) || before.contains(id))
        .collect();
    assert!(
        shared.is_empty(),
        "child and parent drew the same ids: {shared:?}"
    );
}
