//! Bead ids: `fg-` and a short random base36 string, lengthened on collision.

pub const PREFIX: &str = "fg-";
pub const MIN_LEN: usize = 4;
pub const MAX_LEN: usize = 12;

const ALPHABET: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

pub fn is_valid(id: &str) -> bool {
    id.strip_prefix(PREFIX).is_some_and(|rest| {
        (1..=MAX_LEN).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

/// Base36 digits of a random number; ids are its prefixes of increasing length.
pub fn random_digits() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let mut n = u64::from_le_bytes(bytes);
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
    fn ids_are_short_and_valid() {
        let id = pick(&random_digits(), |_| false).unwrap();
        assert_eq!(id.len(), PREFIX.len() + MIN_LEN);
        assert!(is_valid(&id));
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
