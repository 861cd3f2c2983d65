//! Checks of the command line's definition: every option is documented, and every `graft`
//! command the docs show is one the parser accepts.

use clap::{ArgAction, CommandFactory, Parser};

use super::Cli;

/// Every subcommand (at any depth) has an about, and every argument but clap's own --help and
/// --version has help text.
#[test]
fn every_subcommand_and_option_has_help() {
    let mut cli = Cli::command();
    // Building adds what clap generates (help, version, global options on subcommands), so the
    // walk sees the arguments `graft X --help` shows.
    cli.build();
    let mut missing = vec![];
    let mut subcommands = 0;
    walk(&cli, "graft", &mut missing, &mut subcommands);
    assert!(subcommands >= 10, "only {subcommands} subcommands found");
    assert!(missing.is_empty(), "no help text:\n{}", missing.join("\n"));
}

fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>, subcommands: &mut usize) {
    let has_text =
        |t: Option<&clap::builder::StyledStr>| t.is_some_and(|t| !t.to_string().trim().is_empty());
    if !has_text(cmd.get_about()) && !has_text(cmd.get_long_about()) {
        missing.push(format!("{path}: the command has no about"));
    }
    for arg in cmd.get_arguments() {
        let builtin = matches!(
            arg.get_action(),
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
        );
        if !builtin && !has_text(arg.get_help()) && !has_text(arg.get_long_help()) {
            missing.push(format!("{path}: argument '{}'", arg.get_id()));
        }
    }
    for sub in cmd.get_subcommands() {
        // clap's generated `help` subcommand documents itself.
        if sub.get_name() == "help" {
            continue;
        }
        *subcommands += 1;
        walk(
            sub,
            &format!("{path} {}", sub.get_name()),
            missing,
            subcommands,
        );
    }
}

/// Every `graft ...` line in a ```sh block of the README and the guide parses: its subcommand,
/// flags and values exist and are valid (clap checks them without running anything).
#[test]
fn documented_commands_parse() {
    let docs = [
        ("README.md", include_str!("../../../README.md")),
        ("docs/GUIDE.md", include_str!("../../../docs/GUIDE.md")),
    ];
    let mut failures = vec![];
    for (doc, text) in docs {
        let (checked, mut failed) = check_doc(doc, text);
        assert!(checked > 0, "{doc}: no `graft` command in its ```sh blocks");
        failures.append(&mut failed);
    }
    assert!(
        failures.is_empty(),
        "documented commands graft rejects:\n{}",
        failures.join("\n")
    );
}

/// Parses the `graft` commands of a Markdown text's ```sh blocks: how many there are, and one
/// message per command the parser rejects, naming the doc and the line.
fn check_doc(doc: &str, markdown: &str) -> (usize, Vec<String>) {
    let mut failures = vec![];
    let commands: Vec<(usize, String)> = sh_commands(markdown)
        .into_iter()
        .filter(|(_, c)| c.starts_with("graft "))
        .collect();
    for (line, command) in &commands {
        let words = match shell_words(command) {
            Ok(words) => words,
            Err(e) => {
                failures.push(format!("{doc}:{line}: {command}\n  {e}"));
                continue;
            }
        };
        if let Err(e) = Cli::try_parse_from(&words) {
            // `graft X --help` in a doc is a valid command.
            let shown = matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            if !shown {
                let message = e.to_string();
                let first = message.lines().next().unwrap_or_default();
                failures.push(format!("{doc}:{line}: {command}\n  {first}"));
            }
        }
    }
    (commands.len(), failures)
}

/// The checks above catch what they are meant to: a doc command with an unknown flag or a bad
/// value, and an argument or subcommand without help.
#[test]
fn the_checks_find_problems() {
    let doc = "# T\n\n```sh\ngraft summary m.h5   # fine\ngraft finetune --base b.h5 --data d \\\n  --out m.onnx --pooling median\ngraft summary m.h5 --no-such-flag\n```\n";
    let (checked, failures) = check_doc("T.md", doc);
    assert_eq!(checked, 3);
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[0].starts_with("T.md:5: ") && failures[0].contains("median"),
        "{failures:?}"
    );
    assert!(
        failures[1].starts_with("T.md:7: ") && failures[1].contains("--no-such-flag"),
        "{failures:?}"
    );

    let mut cmd = clap::Command::new("t")
        .about("A test.")
        .arg(
            clap::Arg::new("documented")
                .long("documented")
                .help("Has help."),
        )
        .arg(clap::Arg::new("bare").long("bare"))
        .subcommand(clap::Command::new("sub"));
    cmd.build();
    let (mut missing, mut subcommands) = (vec![], 0);
    walk(&cmd, "t", &mut missing, &mut subcommands);
    assert_eq!(subcommands, 1);
    assert_eq!(
        missing,
        ["t: argument 'bare'", "t sub: the command has no about"]
    );
}

/// The commands of the ```sh blocks of a Markdown text, with the line each starts on (1-based):
/// lines ending in `\` joined to the next.
fn sh_commands(markdown: &str) -> Vec<(usize, String)> {
    let mut commands = vec![];
    // Inside a fenced block: whether it is a ```sh one.
    let mut block: Option<bool> = None;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            block = match block {
                Some(_) => {
                    // A block that ends on a `\` line: keep what it has.
                    commands.extend(pending.take());
                    None
                }
                None => Some(info.trim() == "sh"),
            };
            continue;
        }
        if block != Some(true) {
            continue;
        }
        let (start, mut command) = pending.take().unwrap_or((i + 1, String::new()));
        let trimmed = line.trim();
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                command.push_str(head.trim_end());
                command.push(' ');
                pending = Some((start, command));
            }
            None => {
                command.push_str(trimmed);
                if !command.trim().is_empty() {
                    commands.push((start, command.trim().to_string()));
                }
            }
        }
    }
    commands
}

/// Splits a command line into words as sh does for simple commands: blanks separate words,
/// single quotes keep everything, double quotes keep everything but `\"` and `\\`, a backslash
/// outside quotes escapes the next character, and a `#` that starts a word starts a comment.
fn shell_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = vec![];
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unclosed double quote".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                let next = chars.next().ok_or("a trailing backslash")?;
                word.get_or_insert_with(String::new).push(next);
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    Ok(words)
}

#[test]
fn shell_words_split_like_sh() {
    assert_eq!(
        shell_words(r#"graft x 'a b' "c \"d\"" e\ f g#h  # comment"#).unwrap(),
        ["graft", "x", "a b", r#"c "d""#, "e f", "g#h"]
    );
    assert!(shell_words("graft 'open").is_err());
    let commands = sh_commands(
        "text\n```sh\ngraft a \\\n    --b c   # note\nls\n```\n```rust\ngraft no\n```\n```sh\ngraft d\n```\n",
    );
    assert_eq!(
        commands,
        [
            (3, "graft a --b c   # note".to_string()),
            (5, "ls".to_string()),
            (11, "graft d".to_string()),
        ]
    );
}
