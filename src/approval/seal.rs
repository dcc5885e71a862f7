//! Evidence this clone wrote itself. When a step reaches `awaiting-approval`, forge seals
//! what an approver relies on (step, head, base, risk, gates) with an HMAC keyed by a
//! secret in the runtime directory, which is never committed and which harnesses cannot
//! read. A checkpoint whose seal does not verify came from elsewhere (another clone, a
//! merge, a hand edit, a forger): forge then re-derives the evidence before any merge.

use std::io::Write;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ledger::line::sha256_hex;
use crate::step::checkpoint::Checkpoint;
use crate::store::Layout;

const KEY_BYTES: usize = 32;
const BLOCK: usize = 64;

fn key_path(layout: &Layout) -> std::path::PathBuf {
    layout.evidence_key()
}

/// The clone's key, made on first use. Two processes making it at once agree: each writes
/// a temp file and links it into place, and the loser reads the winner's.
fn key(layout: &Layout) -> Result<Vec<u8>> {
    let path = key_path(layout);
    if let Ok(k) = std::fs::read(&path)
        && k.len() == KEY_BYTES
    {
        return Ok(k);
    }
    std::fs::create_dir_all(&layout.runtime).map_err(|e| Error::io(&layout.runtime, e))?;
    let mut fresh = vec![0u8; KEY_BYTES];
    // A secret: never seeded (`FORGE_SEED`).
    crate::randomness::os_fill(&mut fresh).map_err(|e| Error::io(&path, e))?;
    // Per process and per call: the steps of a tick with several jobs are threads of one
    // process, and may make the key at once.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = layout
        .runtime
        .join(format!(".evidence.key.{}.{call}", std::process::id()));
    let written = (|| {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&fresh)?;
        f.sync_all()?;
        match std::fs::hard_link(&tmp, &path) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    written.map_err(|e| Error::io(&path, e))?;
    let k = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    if k.len() != KEY_BYTES {
        return Err(Error::Refused {
            message: format!("{} is damaged", path.display()),
            hint: "remove it: steps waiting now will have their evidence re-derived".into(),
        });
    }
    Ok(k)
}

fn hmac(key: &[u8], message: &[u8]) -> String {
    let mut k = [0u8; BLOCK];
    k[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| k.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let mut outer = pad(0x5c);
    outer.extend_from_slice(&inner);
    sha256_hex(&outer)
}

/// What the seal covers: everything an approval relies on.
fn message(cp: &Checkpoint) -> Vec<u8> {
    let mut m = format!(
        "forge evidence 1\nstep {}\nbead {}\nhead {}\nbase_ref {}\nbase_commit {}\nbranch {}\nrisk {}\nsandbox {}\n",
        cp.step,
        cp.bead,
        cp.head,
        cp.base_ref,
        cp.base_commit,
        cp.branch,
        cp.risk.map_or("", |r| r.as_str()),
        cp.sandbox
    );
    for g in &cp.gates {
        m.push_str(&format!("gate {} {}\n", g.name, g.ok));
    }
    m.into_bytes()
}

pub fn seal(layout: &Layout, cp: &Checkpoint) -> Result<String> {
    Ok(hmac(&key(layout)?, &message(cp)))
}

/// Whether this clone sealed `cp` as it is now.
pub fn verify(layout: &Layout, cp: &Checkpoint) -> bool {
    !cp.seal.is_empty()
        && std::fs::read(key_path(layout))
            .ok()
            .filter(|k| k.len() == KEY_BYTES)
            .is_some_and(|k| {
                constant_time_eq(hmac(&k, &message(cp)).as_bytes(), cp.seal.as_bytes())
            })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        // Key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// Seals made when the risk was a plain string still verify: the message is unchanged.
    #[test]
    fn the_message_names_the_risk_as_it_always_did() {
        let text = "schema = 1\nstep = \"fg-a.1\"\nbead = \"fg-a\"\nattempt = 1\n\
                    state = \"awaiting-approval\"\nharness = \"h\"\npreset = \"command\"\n\
                    base_ref = \"refs/heads/main\"\nbase_commit = \"b\"\nbranch = \"forge/fg-a/1\"\n\
                    head = \"c\"\nworktree = \"w\"\nowner_pid = 1\nstarted = \"s\"\nupdated = \"u\"\n\
                    risk = \"medium\"\nsandbox = \"x\"\n[[gates]]\nname = \"tests\"\nok = true\n";
        let mut cp: Checkpoint = toml::from_str(text).unwrap();
        let expected = "forge evidence 1\nstep fg-a.1\nbead fg-a\nhead c\nbase_ref refs/heads/main\n\
                        base_commit b\nbranch forge/fg-a/1\nrisk medium\nsandbox x\ngate tests true\n";
        assert_eq!(String::from_utf8(message(&cp)).unwrap(), expected);
        cp.risk = None;
        let unrated = expected.replace("risk medium\n", "risk \n");
        assert_eq!(String::from_utf8(message(&cp)).unwrap(), unrated);
    }
}
