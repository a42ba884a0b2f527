//! The import allowlist: a plugin may import the sink and the basic WASI interfaces, nothing else.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Interface prefixes a plugin may import. Filesystem, sockets and http are absent on purpose:
/// encoders turn batches into bytes and never need them.
const ALLOWED: &[&str] = &[
    "atio:encoder/",
    "wasi:cli/",
    "wasi:io/",
    "wasi:random/",
    "wasi:clocks/",
];

/// Every import of `component`, by name.
pub(crate) fn imports(engine: &Engine, component: &Component) -> Vec<String> {
    component
        .component_type()
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The imports outside the allowlist.
pub(crate) fn forbidden(imports: &[String]) -> Vec<String> {
    imports
        .iter()
        .filter(|name| !ALLOWED.iter().any(|prefix| name.starts_with(prefix)))
        .cloned()
        .collect()
}

/// The `atio:encoder` version a plugin was built against, from its sink import or encoder export.
pub(crate) fn contract_version(names: impl IntoIterator<Item = String>) -> Option<String> {
    names.into_iter().find_map(|name| {
        let rest = name.strip_prefix("atio:encoder/")?;
        Some(rest.split_once('@')?.1.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sink_and_basic_wasi_are_allowed() {
        let imports: Vec<String> = [
            "atio:encoder/sink@0.1.0",
            "wasi:cli/stderr@0.2.3",
            "wasi:io/streams@0.2.3",
            "wasi:filesystem/types@0.2.3",
            "wasi:sockets/tcp@0.2.3",
            "wasi:http/outgoing-handler@0.2.3",
            "evil:thing/x",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            forbidden(&imports),
            [
                "wasi:filesystem/types@0.2.3",
                "wasi:sockets/tcp@0.2.3",
                "wasi:http/outgoing-handler@0.2.3",
                "evil:thing/x"
            ]
        );
        assert_eq!(contract_version(imports), Some("0.1.0".into()));
    }
}
