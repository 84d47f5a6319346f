//! The local stack's mailer: each message a JSON file in a mail folder (the deployed one is SES v2,
//! in functions/notifier).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::notify::{Mailer, OutgoingMessage};

/// Writes each message as `<folder>/<notification_id>.json`, readable by its owner only.
pub struct FolderMailer {
    pub folder: PathBuf,
}

impl Mailer for FolderMailer {
    async fn send(&self, message: &OutgoingMessage) -> Result<(), String> {
        let folder = self.folder.clone();
        let message = message.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
            let path = folder.join(format!("{}.json", message.notification_id));
            let partial = folder.join(format!(".{}.partial", message.notification_id));
            let text = serde_json::to_vec_pretty(&message).map_err(|e| e.to_string())?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&partial)
                .map_err(|e| format!("{}: {e}", partial.display()))?;
            file.write_all(&text).map_err(|e| e.to_string())?;
            // A reader never sees half a message.
            std::fs::rename(&partial, &path).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }
}
