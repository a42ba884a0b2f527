//! Object storage (S3 and S3-compatible stores, GCS, Azure, an in-process memory store) through
//! the `object_store` crate: the only code in atio that puts, completes, aborts or deletes
//! objects — the object-storage counterpart of `commit/`.
//!
//! An object store has no rename and no directory, so the commit points differ:
//! - **one object** ([`ObjectFile`]): the bytes stream into a multipart upload (one `PUT` when
//!   they fit in a single part); the object appears only when the upload completes, and any
//!   failure, drop or interrupt aborts the upload. Then `<key>._SUCCESS` is written.
//! - **a directory prefix** ([`ObjectDir`], used by partition writes): parts get run-unique
//!   names, `<prefix>/_SUCCESS` listing exactly the current parts is written last with
//!   compare-and-swap (that write *is* the commit), then the parts it no longer lists are
//!   deleted.

mod dir;
mod sweep;
mod upload;
mod verify;
pub(crate) mod versions;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use object_store::memory::InMemory;
use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreScheme};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result, Step};

pub use dir::ObjectDir;
pub use sweep::clean_prefix;
pub use upload::ObjectFile;
pub use verify::{verify_object, verify_prefix};

/// Smallest part S3 accepts (except the last).
pub const MIN_PART_SIZE: usize = 5 << 20;

/// How atio reaches an object store. Credentials are never here: they come from the usual
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
/// `GOOGLE_SERVICE_ACCOUNT`, `AZURE_STORAGE_ACCOUNT_NAME`, … as `object_store` reads them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoreOptions {
    /// Endpoint URL for S3-compatible or Azure-compatible servers (e.g. `http://127.0.0.1:9000`);
    /// `http://` endpoints are allowed. Defaults to `AWS_ENDPOINT_URL` / the provider's own.
    pub endpoint: Option<String>,
    /// Address S3 buckets path-style (`endpoint/bucket/key`), as most S3-compatible servers
    /// want, instead of virtual-hosted style (`bucket.endpoint/key`).
    pub path_style: bool,
    /// Bytes per multipart part (at least 5 MiB); outputs smaller than one part use one PUT.
    pub part_size: usize,
    /// Parts uploaded at once. Memory is bounded by `part_size × (upload_concurrency + 1)`.
    pub upload_concurrency: usize,
    /// Give up retrying a failed request after this long (connection errors, 5xx, throttling).
    pub retry_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            endpoint: None,
            path_style: false,
            part_size: 8 << 20,
            upload_concurrency: 4,
            retry_timeout: Duration::from_secs(30),
        }
    }
}

/// Where a write goes: a local path, or an object store URL.
#[derive(Clone, Debug)]
pub enum Location {
    /// A path on a local filesystem (also what `file://` URLs become).
    Local(PathBuf),
    /// An object in a store (`s3://bucket/key`, `gs://`, `az://`, `memory:///key`).
    Object(ObjectUrl),
}

impl Location {
    /// Reads `path` as a URL when it has a `scheme://` prefix, else as a local path.
    pub fn parse(path: &Path) -> Result<Self> {
        let Some(text) = path.to_str().filter(|text| has_scheme(text)) else {
            return Ok(Self::Local(path.to_path_buf()));
        };
        let invalid =
            |message: String| Error::new(ErrorKind::InvalidInput, Step::Resolve, path, message);
        let url =
            url::Url::parse(text).map_err(|error| invalid(format!("not a valid URL: {error}")))?;
        let unsupported = || {
            invalid(format!(
                "unsupported URL scheme `{}://` (supported: s3://, gs://, az://, memory://, file://)",
                url.scheme()
            ))
        };
        let (scheme, key) = ObjectStoreScheme::parse(&url).map_err(|_| unsupported())?;
        match scheme {
            ObjectStoreScheme::Local => Ok(Self::Local(PathBuf::from(url.path()))),
            ObjectStoreScheme::AmazonS3
            | ObjectStoreScheme::GoogleCloudStorage
            | ObjectStoreScheme::MicrosoftAzure
            | ObjectStoreScheme::Memory
                if matches!(
                    url.scheme(),
                    "s3" | "s3a" | "gs" | "az" | "azure" | "abfs" | "abfss" | "memory"
                ) =>
            {
                Ok(Self::Object(ObjectUrl {
                    scheme: url.scheme().to_owned(),
                    bucket: url.host_str().unwrap_or_default().to_owned(),
                    key,
                    trailing_slash: text.ends_with('/'),
                }))
            }
            _ => Err(unsupported()),
        }
    }
}

/// Whether `text` starts with `scheme://`.
fn has_scheme(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// An object (or prefix) in a store: `scheme://bucket/key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectUrl {
    scheme: String,
    bucket: String,
    key: ObjectPath,
    /// Written with a trailing `/`: a prefix (a directory target), not an object.
    trailing_slash: bool,
}

impl ObjectUrl {
    /// The key inside the bucket.
    pub fn key(&self) -> &ObjectPath {
        &self.key
    }

    /// Whether the URL was written as a prefix (`…/`).
    pub fn is_prefix(&self) -> bool {
        self.trailing_slash
    }

    /// This URL with `relative` (`/`-separated) appended to the key.
    pub fn join(&self, relative: &str) -> Self {
        let key = relative
            .split('/')
            .filter(|part| !part.is_empty())
            .fold(self.key.clone(), |key, part| key.join(part));
        Self {
            key,
            trailing_slash: false,
            ..self.clone()
        }
    }

    /// The same URL for another key in the bucket.
    pub(crate) fn with_key(&self, key: ObjectPath) -> Self {
        Self {
            key,
            trailing_slash: false,
            ..self.clone()
        }
    }

    /// `<key>._SUCCESS`, the marker beside this object.
    pub fn marker(&self) -> Self {
        let name = format!(
            "{}{}",
            self.file_name().unwrap_or_default(),
            crate::manifest::MARKER_SUFFIX
        );
        let parts: Vec<_> = self.key.parts().collect();
        let parent: ObjectPath = parts[..parts.len().saturating_sub(1)]
            .iter()
            .cloned()
            .collect();
        self.with_key(parent.join(name))
    }

    /// The last segment of the key.
    pub fn file_name(&self) -> Option<&str> {
        self.key.filename()
    }

    /// The URL as a path, for reports and error messages (`s3://bucket/key`).
    pub fn as_path(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }
}

impl std::fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}/{}", self.scheme, self.bucket, self.key)
    }
}

/// A connected store: one handle for objects, one for explicit multipart uploads (so an
/// interrupt can abort an upload by its id from another thread).
#[derive(Clone)]
pub(crate) struct Store {
    pub(crate) objects: Arc<dyn ObjectStore>,
    pub(crate) multipart: Arc<dyn MultipartStore>,
    pub(crate) options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the builder or credentials: only which store.
        write!(f, "Store({})", self.objects)
    }
}

/// The process's in-memory store (`memory:///…`), shared by every write in the process.
static MEMORY: LazyLock<Arc<InMemory>> = LazyLock::new(|| Arc::new(InMemory::new()));

/// Connected stores by (scheme, bucket, options), so a dataset's parts share connections.
static STORES: LazyLock<Mutex<HashMap<String, Store>>> = LazyLock::new(Mutex::default);

impl Store {
    /// Connects to the store holding `url` (configuration from the environment plus `options`).
    pub(crate) fn connect(url: &ObjectUrl, options: &StoreOptions) -> Result<Self> {
        let cache_key = format!("{}://{}|{options:?}", url.scheme, url.bucket);
        let mut stores = STORES.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = stores.get(&cache_key) {
            return Ok(store.clone());
        }
        let store = Self::build(url, options)?;
        stores.insert(cache_key, store.clone());
        Ok(store)
    }

    fn build(url: &ObjectUrl, options: &StoreOptions) -> Result<Self> {
        let (objects, multipart): (Arc<dyn ObjectStore>, Arc<dyn MultipartStore>) =
            match url.scheme.as_str() {
                "memory" => (MEMORY.clone(), MEMORY.clone()),
                #[cfg(feature = "cloud")]
                _ => cloud::build(url, options)?,
                #[cfg(not(feature = "cloud"))]
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        Step::Resolve,
                        url.as_path(),
                        "this atio was built without cloud object stores (cargo feature `cloud`)",
                    ));
                }
            };
        Ok(Self {
            objects,
            multipart,
            options: options.clone(),
        })
    }
}

/// S3, GCS and Azure: object_store's HTTP clients (cargo feature `cloud`).
#[cfg(feature = "cloud")]
mod cloud {
    use std::sync::Arc;
    use std::time::Duration;

    use object_store::multipart::MultipartStore;
    use object_store::{ClientOptions, ObjectStore, RetryConfig};

    use super::{ObjectUrl, StoreOptions};
    use crate::error::{Error, ErrorKind, Result, Step};

    pub(super) fn build(
        url: &ObjectUrl,
        options: &StoreOptions,
    ) -> Result<(Arc<dyn ObjectStore>, Arc<dyn MultipartStore>)> {
        let bucket_url = format!("{}://{}", url.scheme, url.bucket);
        let retry = RetryConfig {
            max_retries: 5,
            retry_timeout: options.retry_timeout,
            ..RetryConfig::default()
        };
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(300));
        let allow_http = options
            .endpoint
            .as_deref()
            .is_some_and(|endpoint| endpoint.starts_with("http://"));
        let failed = |error: object_store::Error| {
            Error::new(
                ErrorKind::InvalidInput,
                Step::Resolve,
                url.as_path(),
                format!("cannot configure the object store: {error}"),
            )
        };
        Ok(match url.scheme.as_str() {
            "s3" | "s3a" => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(&bucket_url)
                    .with_retry(retry)
                    .with_client_options(client);
                if let Some(endpoint) = &options.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(allow_http);
                }
                if options.path_style {
                    builder = builder.with_virtual_hosted_style_request(false);
                }
                let store = Arc::new(builder.build().map_err(failed)?);
                (store.clone(), store)
            }
            "gs" => {
                let store = Arc::new(
                    object_store::gcp::GoogleCloudStorageBuilder::from_env()
                        .with_url(&bucket_url)
                        .with_retry(retry)
                        .with_client_options(client)
                        .build()
                        .map_err(failed)?,
                );
                (store.clone(), store)
            }
            _ => {
                let mut builder = object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(&bucket_url)
                    .with_retry(retry)
                    .with_client_options(client);
                if let Some(endpoint) = &options.endpoint {
                    builder = builder
                        .with_endpoint(endpoint.clone())
                        .with_allow_http(allow_http);
                }
                let store = Arc::new(builder.build().map_err(failed)?);
                (store.clone(), store)
            }
        })
    }
}

/// The runtime every object-store call runs on: two workers, so part uploads proceed while the
/// caller (an encoder, stdin) produces the next part.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("atio-store")
            .enable_all()
            .build()
            .expect("the object-store runtime starts")
    });
    &RUNTIME
}

/// Runs `future` to completion from synchronous code.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// An `object_store` error at `step` on `url`, with the right kind (and exit code).
pub(crate) fn store_error(step: Step, url: &ObjectUrl, error: object_store::Error) -> Error {
    use object_store::Error as E;
    let kind = match &error {
        E::NotFound { .. } => ErrorKind::NotFound,
        E::AlreadyExists { .. } | E::Precondition { .. } => ErrorKind::Conflict,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => ErrorKind::PermissionDenied,
        E::InvalidPath { .. } | E::NotSupported { .. } | E::NotImplemented { .. } => {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Network,
    };
    Error::new(kind, step, url.as_path(), error.to_string()).with_source(error)
}
