//! Tests of cost accounting: prices, estimates and unknown spend.

use super::*;

/// The prices of a config file holding `toml`, as every command loads it.
fn prices(toml: &str) -> Result<Prices> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("schema = 1\n{toml}")).unwrap();
    let config = Config::load(&path)?;
    Prices::from_config(&config, &path)
}

fn tokens(input: u64, output: u64, cache_read: u64) -> RunTokens {
    RunTokens {
        input,
        output,
        cache_read,
        cache_write: 0,
        reported: true,
    }
}

#[test]
fn estimates_from_the_longest_matching_prefix() {
    let p = prices(
            "[prices.claude]\ninput = 1\noutput = 2\n[prices.\"claude-sonnet\"]\ninput = 3\noutput = 15\ncache = 0.3\n",
        )
        .unwrap();
    let est = p.estimate(
        Some("claude-sonnet-4-5"),
        &tokens(1_000_000, 100_000, 10_000),
    );
    assert!((est.unwrap() - (3.0 + 1.5 + 0.003)).abs() < 1e-9);
    // No cache price: a run that read the cache cannot be estimated.
    assert_eq!(p.estimate(Some("claude-haiku"), &tokens(1, 1, 1)), None);
    assert!(p.estimate(Some("claude-haiku"), &tokens(1, 1, 0)).is_some());
    assert_eq!(p.estimate(Some("gpt-5"), &tokens(1, 1, 0)), None);
    assert_eq!(p.estimate(None, &tokens(1, 1, 0)), None);
    let unreported = RunTokens::default();
    assert_eq!(p.estimate(Some("claude"), &unreported), None);
}

#[test]
fn bad_prices_name_the_key() {
    for (toml, want) in [
        ("[prices.m]\noutput = 1\n", "missing field `input`"),
        ("[prices.m]\ninput = -1\noutput = 1\n", "prices.\"m\".input"),
        (
            "[prices.m]\ninput = 1\noutput = 1\nwhat = 2\n",
            "unknown field `what`",
        ),
        (
            "[prices.m]\ninput = \"three\"\noutput = 1\n",
            "config.toml:3:",
        ),
        ("prices = 3\n", "invalid type"),
    ] {
        let err = prices(toml).unwrap_err().to_string();
        assert!(err.contains(want), "{toml}: {err}");
    }
    assert_eq!(prices("").unwrap(), Prices::default());
}

#[test]
fn unknown_money_is_never_zero() {
    let mut m = Money::default();
    assert_eq!(m.to_string(), "-");
    m.add(None, None);
    assert_eq!(m.to_string(), "unknown");
    m.add(Some(0.5), None);
    assert_eq!(m.to_string(), "$0.50 + 1 run unknown");
    m.add(None, Some(0.25));
    assert_eq!(m.to_string(), "$0.50 + ~$0.25 est. + 1 run unknown");
    let mut t = TokenTotals::default();
    t.add(&RunTokens::default());
    assert_eq!(t.to_string(), "unknown");
    t.add(&tokens(1000, 234, 0));
    assert_eq!(t.to_string(), "1,234 + 1 run unknown");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(1_234_567), "1,234,567");
}
