//! Bead ids: `fg-` and a short random base36 string, lengthened on collision.

pub const PREFIX: &str = "fg-";
pub const MIN_LEN: usize = 4;
pub const MAX_LEN: usize = 12;

use crate::randomness::Randomness;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

pub fn is_valid(id: &str) -> bool {
    id.strip_prefix(PREFIX).is_some_and(|rest| {
        (1..=MAX_LEN).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// Base36 digits of a random number from `randomness` (the workspace's: reproducible under
/// `FORGE_SEED`); ids are its prefixes of increasing length.
pub fn random_digits(randomness: &Randomness) -> String {
    let mut n = randomness.next_u64();
    (0..MAX_LEN)
        .map(|_| {
            let d = ALPHABET[(n % 36) as usize] as char;
            n /= 36;
            d
        })
        .collect()
}

/// The first id built from `digits` that `taken` says is free.
pub fn pick(digits: &str, mut taken: impl FnMut(&str) -> bool) -> Option<String> {
    (MIN_LEN..=digits.len())
        .map(|len| format!("{PREFIX}{}", &digits[..len]))
        .find(|id| !taken(id))
}

/// Refuses an id given on the command line (or in a trailer) that names nothing: empty,
/// only whitespace, or only its `prefix` (`fg-`, `as-`). Every other input is a prefix of
/// some ids at most, but an empty one is a prefix of every id, and `forge approve ""` once
/// approved whatever step happened to be the only one. `what` names the kind of id.
pub fn check_input(input: &str, prefix: &str, what: &str) -> crate::error::Result<()> {
    let trimmed = input.trim();
    let bare = trimmed
        .get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .map_or(trimmed, |_| &trimmed[prefix.len()..]);
    if bare.trim().is_empty() {
        let shown = if input.is_empty() {
            "an empty string".to_owned()
        } else {
            format!("'{}'", input.escape_default())
        };
        return Err(crate::error::Error::usage(format!(
            "{shown} is not a {what} id: give a {what} id or a unique prefix of one \
             (like {prefix}3k9x)"
        )));
    }
    Ok(())
}

/// Accepts `fg-3k9`, `3k9` or `FG-3K9` and returns the canonical `fg-3k9`.
pub fn normalise(input: &str) -> String {
    let lower = input.trim().to_ascii_lowercase();
    if lower.starts_with(PREFIX) {
        lower
    } else {
        format!("{PREFIX}{lower}")
    }
}

/// Edit distance, for "did you mean" hints.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_inputs_are_usage_errors() {
        for bad in ["", " ", "\t\n", "fg-", "FG-", " fg- ", "fg- "] {
            let err = check_input(bad, PREFIX, "bead").unwrap_err();
            assert_eq!(err.exit_code(), crate::error::exit::USAGE, "{bad:?}");
            assert!(err.to_string().contains("is not a bead id"), "{err}");
        }
        for ok in ["a", "fg-a", "3k9", "FG-3K9", "fg"] {
            check_input(ok, PREFIX, "bead").unwrap();
        }
        assert!(check_input("as-", "as-", "assumption").is_err());
        check_input("as-1", "as-", "assumption").unwrap();
    }

    #[test]
    fn ids_are_short_and_valid() {
        let id = pick(&random_digits(&Randomness::os()), |_| false).unwrap();
        assert_eq!(id.len(), PREFIX.len() + MIN_LEN);
        assert!(is_valid(&id));
    }

    #[test]
    fn a_seed_makes_ids_reproducible() {
        let ids = |seed| {
            let r = Randomness::seeded(seed);
            (0..3)
                .map(|_| pick(&random_digits(&r), |_| false).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(1), ids(1));
        assert_ne!(ids(1), ids(2));
        let first = ids(1);
        assert!(first.iter().all(|id| is_valid(id)), "{first:?}");
        assert!(first[0] != first[1] && first[1] != first[2], "{first:?}");
    }

    #[test]
    fn collisions_lengthen_the_id() {
        let digits = "abcdefghijkl";
        let id = pick(digits, |id| id == "fg-abcd" || id == "fg-abcde").unwrap();
        assert_eq!(id, "fg-abcdef");
    }

    #[test]
    fn normalises_input() {
        assert_eq!(normalise("3K9"), "fg-3k9");
        assert_eq!(normalise("fg-3k9"), "fg-3k9");
    }

    #[test]
    fn validity() {
        assert!(is_valid("fg-a1"));
        assert!(!is_valid("fg-"));
        assert!(!is_valid("fg-A1"));
        assert!(!is_valid("xx-a1"));
        assert!(!is_valid("fg-../x"));
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("fg-abcd", "fg-abce"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
