//! The prompt a harness receives: the bead, feedback from earlier attempts, and the rules.

use crate::bead::Bead;

pub const RULES: &str = "\
- Make the change in this working tree. Do not commit, create branches or push: forge
  commits your work to a step branch and a person reviews it before it is merged.
- Do not edit anything under .forge/ (forge's own records).
- If you had to assume something you could not check, record it:
  forge assume \"WHAT YOU ASSUMED\" --risk low|medium|high
- When you are done, say in a few sentences what you changed and why.";

pub const DEFAULT_TEMPLATE: &str = "\
You are working on one task in this git repository.

# {title}

{description}
## Acceptance criteria

{acceptance}
{feedback}## Rules

{rules}
";

/// Renders `template` (or the default) for `bead`. Placeholders: {id}, {title},
/// {description}, {acceptance}, {feedback}, {rules}.
pub fn render(template: Option<&str>, bead: &Bead, feedback: &[String]) -> String {
    let acceptance = if bead.acceptance.is_empty() {
        "- (none given: use your judgement and say what you checked)\n".to_owned()
    } else {
        bead.acceptance.iter().map(|a| format!("- {a}\n")).collect()
    };
    let feedback = if feedback.is_empty() {
        String::new()
    } else {
        let items: String = feedback.iter().map(|f| format!("- {f}\n")).collect();
        format!("## Feedback from earlier attempts\n\n{items}\n")
    };
    let description = if bead.description.trim().is_empty() {
        String::new()
    } else {
        format!("{}\n", bead.description.trim_end())
    };
    template
        .unwrap_or(DEFAULT_TEMPLATE)
        .replace("{id}", &bead.id)
        .replace("{title}", &bead.title)
        .replace("{description}", &description)
        .replace("{acceptance}", &acceptance)
        .replace("{feedback}", &feedback)
        .replace("{rules}", RULES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bead() -> Bead {
        toml::from_str(
            r#"schema = 1
id = "fg-abcd"
title = "Fix the parser"
kind = "bug"
status = "open"
priority = 1
value = 60
risk = "low"
created = "2026-11-21T00:00:00Z"
updated = "2026-11-21T00:00:00Z"
description = "It chokes on tabs."
acceptance = ["tabs parse"]
"#,
        )
        .unwrap()
    }

    #[test]
    fn default_prompt_has_the_bead_and_the_rules() {
        let p = render(None, &bead(), &["attempt 1 was rejected: too broad".into()]);
        assert!(p.contains("# Fix the parser"));
        assert!(p.contains("It chokes on tabs."));
        assert!(p.contains("- tabs parse"));
        assert!(p.contains("attempt 1 was rejected: too broad"));
        assert!(p.contains("Do not commit"));
        assert!(p.contains("forge assume"));
    }

    #[test]
    fn templates_fill_placeholders() {
        let p = render(Some("{id}: {title}\n{rules}"), &bead(), &[]);
        assert!(p.starts_with("fg-abcd: Fix the parser\n- Make the change"));
    }
}
