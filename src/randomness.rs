//! Randomness as forge uses it, in one place.
//!
//! [`Randomness`] is where ids come from: bead, assumption and plan ids and the random part
//! of run ids. It reads the operating system's source, unless `FORGE_SEED` gives a seed:
//! then it is a fixed sequence (SplitMix64 over the seed), so that a test sees the same ids
//! on every run (like jj's `JJ_RANDOMNESS_SEED`). The CLI makes one per process and the
//! [`Environment`](crate::workspace::Environment) shares it (an `Arc`) with every workspace
//! opened from it: two workspaces in one process (`forge doctor --fix` opens two) continue
//! one sequence rather than both replaying it from the start, which would give their runs
//! the same id.
//!
//! [`os_fill`] is for what must be unique and is never shown or reproduced (temp file
//! names, journal batches) and for secrets (the evidence key): always the operating
//! system's source, whatever the seed.

use std::sync::atomic::{AtomicU64, Ordering};

/// The source of ids. Shared, not cloned: a clone of a seeded source would repeat its
/// sequence.
#[derive(Debug, Default)]
pub struct Randomness {
    seeded: Option<Seeded>,
}

#[derive(Debug)]
struct Seeded {
    seed: u64,
    /// How many numbers were drawn so far.
    drawn: AtomicU64,
}

/// SplitMix64's increment (2^64 divided by the golden ratio).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

impl Randomness {
    /// The operating system's source.
    pub fn os() -> Randomness {
        Randomness { seeded: None }
    }

    /// A fixed sequence: the same seed gives the same numbers, in the same order.
    pub fn seeded(seed: u64) -> Randomness {
        Randomness {
            seeded: Some(Seeded {
                seed,
                drawn: AtomicU64::new(0),
            }),
        }
    }

    /// `FORGE_SEED`'s value: seeded when it is set, the operating system's otherwise.
    pub fn from_seed(seed: Option<u64>) -> Randomness {
        seed.map_or_else(Randomness::os, Randomness::seeded)
    }

    /// The seed, when there is one.
    pub fn seed(&self) -> Option<u64> {
        self.seeded.as_ref().map(|s| s.seed)
    }

    /// The next number.
    pub fn next_u64(&self) -> u64 {
        match &self.seeded {
            // The n-th output of SplitMix64 started at `seed` (n counted from 1).
            Some(s) => {
                let n = s.drawn.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
                mix(s.seed.wrapping_add(n.wrapping_mul(GOLDEN)))
            }
            None => {
                let mut bytes = [0u8; 8];
                os_fill(&mut bytes).expect("the OS random source works");
                u64::from_le_bytes(bytes)
            }
        }
    }
}

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Parses `FORGE_SEED`: a decimal number (`0` to `18446744073709551615`).
pub fn parse_seed(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Fills `buf` from the operating system's source, whatever `FORGE_SEED` says: for names
/// that must not collide with another process's (temp files, journal batches) and for keys.
#[allow(clippy::disallowed_methods)] // the one place that reads the OS source
pub fn os_fill(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(std::io::Error::other)
}

/// A random 32-bit number from the operating system's source (see [`os_fill`]).
pub fn os_u32() -> std::io::Result<u32> {
    let mut bytes = [0u8; 4];
    os_fill(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_sequence_every_time() {
        let draw = |seed| {
            let r = Randomness::seeded(seed);
            (0..5).map(|_| r.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let seq = draw(7);
        let mut unique = seq.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), seq.len(), "{seq:?}");
        // SplitMix64's published first output for seed 0.
        assert_eq!(draw(0)[0], 0xe220_a839_7b1d_cdaf);
        assert_eq!(Randomness::seeded(7).seed(), Some(7));
    }

    #[test]
    fn a_shared_source_continues_its_sequence() {
        let shared = std::sync::Arc::new(Randomness::seeded(3));
        let a = shared.clone();
        let first = a.next_u64();
        let second = shared.next_u64();
        let fresh = Randomness::seeded(3);
        assert_eq!((first, second), (fresh.next_u64(), fresh.next_u64()));
    }

    #[test]
    fn without_a_seed_numbers_differ() {
        let r = Randomness::os();
        assert_eq!(r.seed(), None);
        assert_ne!(r.next_u64(), r.next_u64());
        assert_eq!(Randomness::from_seed(None).seed(), None);
        assert_eq!(Randomness::from_seed(Some(1)).seed(), Some(1));
    }

    #[test]
    fn seeds_parse() {
        assert_eq!(parse_seed("42"), Some(42));
        assert_eq!(parse_seed(" 7 "), Some(7));
        assert_eq!(parse_seed("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_seed("-1"), None);
        assert_eq!(parse_seed("seed"), None);
        assert_eq!(parse_seed(""), None);
    }
}
