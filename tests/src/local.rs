//! The running local stack's settings. The local server writes them to `<state>/stack.json` when it
//! serves and removes them when it stops; `invoke` (scripts/invoke.sh) reads them, so that a function
//! invoked by hand runs against exactly the stack `scripts/local.sh` started, whatever table, ports
//! or folders it was given.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The tenant the local stack bootstraps, administrator `admin`.
pub const TENANT: &str = "local";
pub const ADMINISTRATOR: &str = "admin";

/// The `--env-vars` file of `sam local invoke` / `start-api`: the local stack's settings for
/// functions run in Docker, and the source of the local signing key.
pub const SAM_LOCAL_ENV: &str = "events/sam-local-env.json";

/// An environment variable, `default` when unset or empty.
pub fn setting(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Where the local stack keeps its state (`LOCAL_STATE_DIR`, else `.local`).
pub fn state_dir() -> PathBuf {
    PathBuf::from(setting("LOCAL_STATE_DIR", ".local"))
}

/// The repository's root (this crate is `tests/`).
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The local stack's token signing key: `TOKEN_SIGNING_KEY` if set, else the fixed local key of
/// `events/sam-local-env.json`, so that a token from the local server, from `scripts/invoke.sh` and
/// from a function under `sam local` is one and the same. It guards nothing a local user could not
/// reach anyway: DynamoDB Local, on loopback, takes any request without credentials.
pub fn signing_key() -> Result<String, String> {
    if let Some(key) = std::env::var("TOKEN_SIGNING_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        return Ok(key);
    }
    let path = repository().join(SAM_LOCAL_ENV);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    file["Parameters"]["TOKEN_SIGNING_KEY"]
        .as_str()
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: no Parameters.TOKEN_SIGNING_KEY", path.display()))
}

/// What `invoke` needs to know of the running stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSettings {
    pub table_name: String,
    pub dynamodb_endpoint: String,
    /// The sample directory the stack serves (`None` if the stack was given none).
    pub external_directory_url: Option<String>,
    pub mail_folder: PathBuf,
    /// Where the stack serves the API.
    pub api: String,
    /// The stack's process, to tell a running stack from the leftovers of one that was killed.
    pub pid: u32,
    /// Which key the stack signs and seals with (`key_fingerprint`), so that a token made for it is
    /// one it accepts.
    pub signing_key_fingerprint: String,
}

/// The first 16 bytes of the key's SHA-256, in hex: tells keys apart, gives nothing of them away.
pub fn key_fingerprint(key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl StackSettings {
    fn path(state: &Path) -> PathBuf {
        state.join("stack.json")
    }

    pub fn write(&self, state: &Path) -> Result<(), String> {
        let path = Self::path(state);
        std::fs::create_dir_all(state).map_err(|e| format!("{}: {e}", state.display()))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn remove(state: &Path) {
        let _ = std::fs::remove_file(Self::path(state));
    }

    /// The settings of the stack running with this state folder; an error that says how to start
    /// one when none runs.
    pub fn read(state: &Path) -> Result<StackSettings, String> {
        let path = Self::path(state);
        let not_running = || {
            format!(
                "no local stack runs with state folder {}: start one with scripts/local.sh (or set LOCAL_STATE_DIR to its folder)",
                state.display()
            )
        };
        let text = std::fs::read_to_string(&path).map_err(|_| not_running())?;
        let settings: StackSettings =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        // A stack killed outright leaves its file behind, and its process id may be another's by
        // now: a running stack is one whose process lives and whose API takes a connection.
        let answers = settings
            .api
            .strip_prefix("http://")
            .and_then(|address| address.parse::<std::net::SocketAddr>().ok())
            .is_some_and(|address| {
                std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(2))
                    .is_ok()
            });
        if !Path::new(&format!("/proc/{}", settings.pid)).exists() || !answers {
            return Err(not_running());
        }
        Ok(settings)
    }
}
