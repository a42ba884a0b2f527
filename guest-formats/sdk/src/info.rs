//! What an encoder is ([`FormatInfo`], [`OptionSpec`]) and what it reports ([`Summary`]).

/// One option an encoder accepts, as shown by `atio plugins inspect` and `atio write --help`.
///
/// A name that contains `<` declares a family of options sharing a prefix: `kv.<key>` stands
/// for every option whose name starts with `kv.` (read them with
/// [`Options::take_prefixed`](crate::Options::take_prefixed)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionSpec {
    /// The key as given on the command line (`-o key=value`), e.g. `compression`.
    pub name: String,
    /// One line saying what the option does and which values it takes.
    pub description: String,
    /// The value used when the option is not given; `None` when there is no default.
    pub default_value: Option<String>,
}

impl OptionSpec {
    /// An option with no default value.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            default_value: None,
        }
    }

    /// Sets the default value shown to users.
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default_value = Some(value.into());
        self
    }

    /// For a prefix family such as `kv.<key>`, the prefix (`kv.`); `None` for a plain option.
    pub fn prefix(&self) -> Option<&str> {
        self.name.find('<').map(|i| &self.name[..i])
    }

    /// Whether an option named `key` is covered by this spec.
    pub fn matches(&self, key: &str) -> bool {
        match self.prefix() {
            Some(prefix) => key.len() > prefix.len() && key.starts_with(prefix),
            None => self.name == key,
        }
    }
}

/// What an encoder is: returned by [`Encoder::info`](crate::Encoder::info) before any data is
/// seen, and recorded by the host in every `_SUCCESS` manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatInfo {
    /// Short lower-case format name used by `--format`, e.g. `parquet`.
    pub name: String,
    /// The encoder's own version (semver). `env!("CARGO_PKG_VERSION")` is a good value.
    pub version: String,
    /// IANA media type of the output, e.g. `application/vnd.apache.parquet`.
    pub media_type: String,
    /// File extensions without the dot, most preferred first, e.g. `["parquet", "pq"]`.
    pub extensions: Vec<String>,
    /// Every option [`Encoder::open`](crate::Encoder::open) accepts. The SDK rejects any
    /// other option before calling `open`.
    pub options: Vec<OptionSpec>,
}

impl FormatInfo {
    /// A format with no extensions and no options yet.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        media_type: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            media_type: media_type.into(),
            extensions: Vec::new(),
            options: Vec::new(),
        }
    }

    /// Appends a file extension (without the dot); add the preferred one first.
    pub fn extension(mut self, extension: impl Into<String>) -> Self {
        self.extensions.push(extension.into());
        self
    }

    /// Appends an option.
    pub fn option(mut self, option: OptionSpec) -> Self {
        self.options.push(option);
        self
    }
}

/// What an encoder reports from [`Encoder::finish`](crate::Encoder::finish): free-form facts
/// for the manifest (e.g. `row-groups` = `3`).
///
/// The row count the host receives is counted by the SDK (the sum of all batches' rows, as the
/// contract defines it), so encoders don't report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `(key, value)` pairs, in the order they should be shown.
    pub metadata: Vec<(String, String)>,
}

impl Summary {
    /// An empty summary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a `key = value` fact.
    pub fn with(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.metadata.push((key.into(), value.to_string()));
        self
    }
}

/// The summary of a finished session as the host receives it: the SDK's row count plus the
/// encoder's [`Summary`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinishedSummary {
    /// Data rows encoded: the sum of all batches' row counts.
    pub rows: u64,
    /// The encoder's facts, from [`Summary::metadata`].
    pub metadata: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_specs_match_family() {
        let kv = OptionSpec::new("kv.<key>", "metadata");
        assert_eq!(kv.prefix(), Some("kv."));
        assert!(kv.matches("kv.owner"));
        assert!(!kv.matches("kv."));
        assert!(!kv.matches("kvx"));
        let plain = OptionSpec::new("header", "x").default_value("true");
        assert!(plain.matches("header"));
        assert!(!plain.matches("headers"));
        assert_eq!(plain.default_value.as_deref(), Some("true"));
    }
}
