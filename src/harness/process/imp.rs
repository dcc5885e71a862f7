//! Placeholder implementation: spawn, copy lines, wall timeout with a group kill. Being
//! replaced by the full implementation (idle timeout, escaped descendants, read deadlines).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use super::{EndedBy, Finished, Spawn};
use crate::error::{Error, Result};
use crate::harness::adapter::Stream;

pub fn run(spawn: &Spawn, on_line: &mut dyn FnMut(Stream, &str)) -> Result<Finished> {
    let start = Instant::now();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&spawn.log)
        .map_err(|e| Error::io(&spawn.log, e))?;
    let mut cmd = Command::new(&spawn.program);
    cmd.args(&spawn.args)
        .current_dir(&spawn.cwd)
        .env_clear()
        .envs(spawn.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spawn.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|e| Error::io(&spawn.program, e))?;
    if let (Some(bytes), Some(mut stdin)) = (&spawn.stdin, child.stdin.take()) {
        let _ = stdin.write_all(bytes);
    }
    let (tx, rx) = mpsc::channel::<(Stream, String)>();
    for (stream, pipe) in [
        (
            Stream::Stdout,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ),
        (
            Stream::Stderr,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ),
    ] {
        let tx = tx.clone();
        if let Some(pipe) = pipe {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            });
        }
    }
    drop(tx);
    let deadline = start + spawn.timeout;
    let mut ended_by = EndedBy::Exited;
    loop {
        let now = Instant::now();
        if now >= deadline {
            ended_by = EndedBy::WallTimeout;
            let pgid = rustix::process::Pid::from_child(&child);
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
            break;
        }
        match rx.recv_timeout(deadline - now) {
            Ok((stream, line)) => {
                let _ = writeln!(log, "{line}");
                on_line(stream, &line);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().map_err(|e| Error::io(&spawn.program, e))?;
    Ok(Finished {
        exit_code: status.code(),
        signal: status.signal(),
        ended_by,
        duration_ms: start.elapsed().as_millis() as u64,
        escaped_killed: Vec::new(),
    })
}
