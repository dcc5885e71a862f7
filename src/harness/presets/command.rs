//! `command`: any program. The prompt goes to stdin, or replaces `{prompt}` in an argument.
//! Output is plain text: each line is a message; the exit code is the verdict.

use crate::clock::Clock;
use crate::harness::adapter::{Adapter, CommandSpec, Event, Invocation, OutputParser, Stream};

pub struct Command;

struct Parser;

impl OutputParser for Parser {
    fn line(&mut self, stream: Stream, line: &str) -> Vec<Event> {
        let text = line.trim();
        if text.is_empty() || stream == Stream::Stderr {
            return Vec::new();
        }
        vec![Event::Message {
            text: text.to_owned(),
        }]
    }
}

impl Adapter for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn default_program(&self) -> &'static str {
        "sh"
    }

    fn command(&self, inv: &Invocation) -> CommandSpec {
        // An empty `command = []` must not panic: it means the default, like no command.
        let argv = inv
            .command
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| vec!["sh".into()]);
        let uses_placeholder = argv.iter().any(|a| a.contains("{prompt}"));
        let mut args: Vec<String> = argv[1..]
            .iter()
            .map(|a| a.replace("{prompt}", &inv.prompt))
            .collect();
        args.extend(inv.extra_args.iter().cloned());
        CommandSpec {
            program: argv[0].clone(),
            args,
            stdin: (!uses_placeholder).then(|| inv.prompt.clone().into_bytes()),
            env: Vec::new(),
            session: None,
        }
    }

    fn parser(&self, _clock: &Clock) -> Box<dyn OutputParser> {
        Box::new(Parser)
    }

    fn can_resume(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_goes_to_stdin_or_placeholder() {
        let inv = Invocation {
            prompt: "do it".into(),
            command: Some(vec!["agent".into(), "--task".into(), "{prompt}".into()]),
            ..Default::default()
        };
        let spec = Command.command(&inv);
        assert_eq!(spec.args, ["--task", "do it"]);
        assert_eq!(spec.stdin, None);
        let inv = Invocation {
            prompt: "do it".into(),
            command: Some(vec!["agent".into()]),
            ..Default::default()
        };
        assert_eq!(Command.command(&inv).stdin.as_deref(), Some(&b"do it"[..]));
        let inv = Invocation {
            prompt: "do it".into(),
            command: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(Command.command(&inv).program, "sh");
    }
}
