//! [`Options`]: the user's `key=value` pairs, and typed helpers to read them.

use std::fmt;

use crate::{EncodeError, OptionSpec};

/// The user's options (`-o key=value`), in order, as the host passed them.
///
/// An encoder reads each option it understands with one of the `take_*` methods, which parse
/// the value and mark the option as used. Parse errors are
/// [`EncodeError::InvalidOptions`] messages that name the option and say what was expected,
/// e.g. ``option `compression`: expected one of uncompressed, snappy, gzip; got `foo` ``.
///
/// Before [`Encoder::open`](crate::Encoder::open) runs, the SDK rejects options that no
/// [`OptionSpec`] in [`Encoder::info`](crate::Encoder::info) declares; after `open` returns,
/// it rejects every option the encoder did not take. Either way the message names the option
/// and lists the known ones.
///
/// Giving the same key twice is an error (``option `header` given more than once``).
/// Keys are case-sensitive; enumerated and boolean values are not.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Options {
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    taken: bool,
}

impl Options {
    /// Options from `(key, value)` pairs, in the order given.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self {
            entries: pairs
                .into_iter()
                .map(|(key, value)| Entry {
                    key,
                    value,
                    taken: false,
                })
                .collect(),
        }
    }

    /// Options from borrowed pairs; convenient in tests.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// Whether no options were given at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The raw value of option `name` if it was given, marking it as taken.
    ///
    /// Errors if `name` was given more than once.
    pub fn take_str(&mut self, name: &str) -> Result<Option<String>, EncodeError> {
        let mut found: Option<usize> = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.key == name {
                if found.is_some() {
                    return Err(EncodeError::invalid_options(format!(
                        "option `{name}` given more than once"
                    )));
                }
                found = Some(i);
            }
        }
        Ok(found.map(|i| {
            let e = &mut self.entries[i];
            e.taken = true;
            e.value.clone()
        }))
    }

    /// Option `name` parsed by `parse`, or `None` if it was not given.
    ///
    /// This is the building block of the other `take_*` methods: when `parse` returns `None`
    /// the error is ``option `{name}`: expected {expected}, got `{value}` ``.
    pub fn take_with<T>(
        &mut self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, EncodeError> {
        match self.take_str(name)? {
            None => Ok(None),
            Some(value) => match parse(&value) {
                Some(v) => Ok(Some(v)),
                None => Err(invalid_value(name, expected, &value)),
            },
        }
    }

    /// A boolean option: `true`/`false` (also `yes`/`no`, `on`/`off`, `1`/`0`; any case).
    pub fn take_bool(&mut self, name: &str, default: bool) -> Result<bool, EncodeError> {
        Ok(self
            .take_with(name, "true or false", parse_bool)?
            .unwrap_or(default))
    }

    /// A non-negative integer option (decimal; `_` separators allowed).
    pub fn take_u64(&mut self, name: &str, default: u64) -> Result<u64, EncodeError> {
        Ok(self.take_opt_u64(name)?.unwrap_or(default))
    }

    /// A non-negative integer option with no default.
    pub fn take_opt_u64(&mut self, name: &str) -> Result<Option<u64>, EncodeError> {
        self.take_with(name, "a non-negative integer", |v| {
            v.replace('_', "").parse().ok()
        })
    }

    /// A signed integer option with no default.
    pub fn take_opt_i64(&mut self, name: &str) -> Result<Option<i64>, EncodeError> {
        self.take_with(name, "an integer", |v| v.replace('_', "").parse().ok())
    }

    /// A size in bytes: a plain integer, or a number with a unit: `k`/`kib`, `m`/`mib`,
    /// `g`/`gib` (powers of 1024) or `kb`, `mb`, `gb` (powers of 1000); any case, e.g. `64MiB`.
    pub fn take_size(&mut self, name: &str, default: u64) -> Result<u64, EncodeError> {
        Ok(self
            .take_with(
                name,
                "a size in bytes such as 1048576, 512KiB or 128MiB",
                parse_size,
            )?
            .unwrap_or(default))
    }

    /// A single-character option. Besides a literal character, accepts the escapes `\t`,
    /// `\n`, `\r`, `\\`, `\0` and the names `tab`, `space`, `comma`, `semicolon`, `pipe`.
    pub fn take_char(&mut self, name: &str, default: char) -> Result<char, EncodeError> {
        Ok(self
            .take_with(
                name,
                "a single character (or \\t, tab, space, comma, semicolon, pipe)",
                parse_char,
            )?
            .unwrap_or(default))
    }

    /// An option whose value is one of `choices` (matched ignoring ASCII case); returns the
    /// matching entry of `choices`, or `default` if the option was not given.
    pub fn take_enum<'a>(
        &mut self,
        name: &str,
        choices: &[&'a str],
        default: &'a str,
    ) -> Result<&'a str, EncodeError> {
        let expected = format!("one of {}", choices.join(", "));
        Ok(self
            .take_with(name, &expected, |v| {
                choices.iter().copied().find(|c| c.eq_ignore_ascii_case(v))
            })?
            .unwrap_or(default))
    }

    /// Every option whose key starts with `prefix` (e.g. `kv.`), as `(rest of key, value)`
    /// pairs in the order given, marking them as taken. A key equal to the bare prefix is
    /// left untaken (and so reported as unknown); the same key given twice is an error.
    pub fn take_prefixed(&mut self, prefix: &str) -> Result<Vec<(String, String)>, EncodeError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for e in &mut self.entries {
            if e.key.len() > prefix.len() && e.key.starts_with(prefix) {
                let rest = &e.key[prefix.len()..];
                if out.iter().any(|(k, _)| k == rest) {
                    return Err(EncodeError::invalid_options(format!(
                        "option `{}` given more than once",
                        e.key
                    )));
                }
                e.taken = true;
                out.push((rest.to_owned(), e.value.clone()));
            }
        }
        Ok(out)
    }

    /// Keys given but not (yet) taken, in order.
    pub fn untaken(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(|e| !e.taken)
            .map(|e| e.key.as_str())
    }

    /// Every option, in the order given, all marked as taken: for an encoder that hands its
    /// options on unparsed (as [`Concatenated`](crate::parts::Concatenated) opens a session per
    /// part).
    pub fn take_all(&mut self) -> Vec<(String, String)> {
        self.entries
            .iter_mut()
            .map(|e| {
                e.taken = true;
                (e.key.clone(), e.value.clone())
            })
            .collect()
    }

    /// Errors naming the first option no spec in `known` declares.
    pub(crate) fn check_declared(&self, known: &[OptionSpec]) -> Result<(), EncodeError> {
        match self
            .entries
            .iter()
            .find(|e| !known.iter().any(|s| s.matches(&e.key)))
        {
            Some(e) => Err(unknown_option(&e.key, known)),
            None => Ok(()),
        }
    }

    /// Errors naming the first option the encoder did not take. An undeclared option is
    /// "unknown"; a declared one that `open` left untaken has no effect in this configuration.
    pub(crate) fn check_all_taken(&self, known: &[OptionSpec]) -> Result<(), EncodeError> {
        match self.untaken().next() {
            Some(key) if known.iter().any(|s| s.matches(key)) => Err(EncodeError::invalid_options(
                format!("option `{key}` has no effect with the other options given; remove it"),
            )),
            Some(key) => Err(unknown_option(key, known)),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|e| (&e.key, &e.value)))
            .finish()
    }
}

fn invalid_value(name: &str, expected: &str, value: &str) -> EncodeError {
    EncodeError::invalid_options(format!(
        "option `{name}`: expected {expected}, got `{value}`"
    ))
}

fn unknown_option(key: &str, known: &[OptionSpec]) -> EncodeError {
    let mut message = format!("unknown option `{key}`");
    if let Some(best) = known
        .iter()
        .map(|s| (edit_distance(key, &s.name), &s.name))
        .filter(|(d, name)| *d > 0 && *d <= 2.max(name.len() / 3))
        .min_by_key(|(d, _)| *d)
    {
        message.push_str(&format!(" (did you mean `{}`?)", best.1));
    }
    if known.is_empty() {
        message.push_str("; this encoder takes no options");
    } else {
        let names: Vec<&str> = known.iter().map(|s| s.name.as_str()).collect();
        message.push_str(&format!("; known options: {}", names.join(", ")));
    }
    EncodeError::InvalidOptions(message)
}

/// Levenshtein distance over chars; option names are short.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let num: u64 = num.replace('_', "").parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return None,
    };
    num.checked_mul(mult)
}

fn parse_char(v: &str) -> Option<char> {
    match v {
        "\\t" | "tab" | "TAB" => return Some('\t'),
        "\\n" => return Some('\n'),
        "\\r" => return Some('\r'),
        "\\\\" => return Some('\\'),
        "\\0" => return Some('\0'),
        "space" => return Some(' '),
        "comma" => return Some(','),
        "semicolon" => return Some(';'),
        "pipe" => return Some('|'),
        _ => {}
    }
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Vec<OptionSpec> {
        vec![
            OptionSpec::new("compression", "codec"),
            OptionSpec::new("header", "write a header"),
            OptionSpec::new("kv.<key>", "metadata"),
        ]
    }

    #[test]
    fn typed_takes() {
        let mut o = Options::from_pairs(&[
            ("header", "False"),
            ("rows", "1_000"),
            ("size", "128MiB"),
            ("delimiter", "\\t"),
            ("compression", "SNAPPY"),
            ("level", "-3"),
        ]);
        assert!(!o.take_bool("header", true).unwrap());
        assert_eq!(o.take_u64("rows", 5).unwrap(), 1000);
        assert_eq!(o.take_size("size", 0).unwrap(), 128 << 20);
        assert_eq!(o.take_char("delimiter", ',').unwrap(), '\t');
        assert_eq!(
            o.take_enum("compression", &["uncompressed", "snappy"], "uncompressed")
                .unwrap(),
            "snappy"
        );
        assert_eq!(o.take_opt_i64("level").unwrap(), Some(-3));
        assert_eq!(o.untaken().count(), 0);
        // Absent options give defaults.
        assert!(o.take_bool("missing", true).unwrap());
        assert_eq!(o.take_char("quote", '"').unwrap(), '"');
        assert_eq!(o.take_enum("codec", &["a", "b"], "b").unwrap(), "b");
        assert_eq!(o.take_str("null").unwrap(), None);
    }

    #[test]
    fn bad_values_name_the_option_and_the_choices() {
        let mut o = Options::from_pairs(&[("compression", "foo")]);
        let err = o
            .take_enum("compression", &["uncompressed", "snappy", "gzip"], "snappy")
            .unwrap_err();
        assert_eq!(
            err,
            EncodeError::InvalidOptions(
                "option `compression`: expected one of uncompressed, snappy, gzip, got `foo`"
                    .into()
            )
        );
        let mut o = Options::from_pairs(&[("header", "maybe"), ("n", "-1"), ("d", "ab")]);
        assert!(
            o.take_bool("header", true)
                .unwrap_err()
                .message()
                .contains("`maybe`")
        );
        assert!(
            o.take_u64("n", 1)
                .unwrap_err()
                .message()
                .contains("non-negative")
        );
        assert!(
            o.take_char("d", ',')
                .unwrap_err()
                .message()
                .starts_with("option `d`")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("10k"), Some(10 << 10));
        assert_eq!(parse_size("2 GiB"), Some(2 << 30));
        assert_eq!(parse_size("3MB"), Some(3_000_000));
        assert_eq!(parse_size("1_000b"), Some(1000));
        assert_eq!(parse_size("MiB"), None);
        assert_eq!(parse_size("1.5MiB"), None);
        assert_eq!(parse_size("99999999999999999999"), None);
        assert_eq!(parse_size("18446744073709551615g"), None);
    }

    #[test]
    fn duplicates_are_rejected() {
        let mut o = Options::from_pairs(&[("header", "true"), ("header", "false")]);
        let err = o.take_bool("header", true).unwrap_err();
        assert_eq!(err.message(), "option `header` given more than once");
    }

    #[test]
    fn prefixed_options() {
        let mut o = Options::from_pairs(&[
            ("kv.owner", "me"),
            ("header", "true"),
            ("kv.team", "data"),
            ("kv.", "bare"),
        ]);
        assert_eq!(
            o.take_prefixed("kv.").unwrap(),
            vec![
                ("owner".into(), "me".into()),
                ("team".into(), "data".into())
            ]
        );
        assert_eq!(o.untaken().collect::<Vec<_>>(), vec!["header", "kv."]);
        let mut o = Options::from_pairs(&[("kv.a", "1"), ("kv.a", "2")]);
        assert_eq!(
            o.take_prefixed("kv.").unwrap_err().message(),
            "option `kv.a` given more than once"
        );
    }

    #[test]
    fn unknown_options_are_named_with_known_list_and_suggestion() {
        let o = Options::from_pairs(&[("kv.a", "1"), ("compresion", "snappy")]);
        let err = o.check_declared(&spec()).unwrap_err();
        assert_eq!(
            err.message(),
            "unknown option `compresion` (did you mean `compression`?); \
             known options: compression, header, kv.<key>"
        );
        let o = Options::from_pairs(&[("zzz", "1")]);
        assert_eq!(
            o.check_declared(&[]).unwrap_err().message(),
            "unknown option `zzz`; this encoder takes no options"
        );
    }

    #[test]
    fn untaken_options_are_reported_after_open() {
        let mut o = Options::from_pairs(&[("header", "true"), ("compression", "gzip")]);
        o.take_bool("header", true).unwrap();
        let err = o.check_all_taken(&spec()).unwrap_err();
        assert_eq!(
            err.message(),
            "option `compression` has no effect with the other options given; remove it"
        );
        o.take_str("compression").unwrap();
        assert!(o.check_all_taken(&spec()).is_ok());
        let o = Options::from_pairs(&[("colour", "red")]);
        assert!(
            o.check_all_taken(&spec())
                .unwrap_err()
                .message()
                .starts_with("unknown option `colour`")
        );
    }

    #[test]
    fn chars() {
        assert_eq!(parse_char("tab"), Some('\t'));
        assert_eq!(parse_char(";"), Some(';'));
        assert_eq!(parse_char("é"), Some('é'));
        assert_eq!(parse_char(""), None);
        assert_eq!(parse_char("ab"), None);
    }
}
