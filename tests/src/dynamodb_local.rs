//! A DynamoDB Local of a test's own, file-backed, that the test may stop and start again (the fault
//! tests), through the same script as every other instance (scripts/dynamodb-local.sh).

use std::path::PathBuf;
use std::process::Command;

pub struct Instance {
    pub port: u16,
    pub data_dir: PathBuf,
}

impl Instance {
    /// A fresh, empty, file-backed instance on a free port of 127.0.0.1.
    pub fn start_fresh() -> Result<Instance, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let data_dir =
            std::env::temp_dir().join(format!("useradmin-ddb-{}-{port}", std::process::id()));
        let instance = Instance { port, data_dir };
        instance.run("start", true)?;
        Ok(instance)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the process (SIGTERM, SIGKILL after a few seconds); its data stays on disk.
    pub fn stop(&self) -> Result<(), String> {
        self.run("stop", false)
    }

    /// Starts it again on the same port and data.
    pub fn restart(&self) -> Result<(), String> {
        self.run("start", false)
    }

    /// Freezes the process (SIGSTOP): connections are accepted by the kernel, nothing answers.
    pub fn pause(&self) -> Result<(), String> {
        self.signal("-STOP")
    }

    /// Lets a paused process go on (SIGCONT).
    pub fn resume(&self) -> Result<(), String> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> Result<(), String> {
        let pid_file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../.local/dynamodb-{}.pid", self.port));
        let pid = std::fs::read_to_string(&pid_file).map_err(|e| format!("{pid_file:?}: {e}"))?;
        let status = Command::new("kill")
            .args([signal, pid.trim()])
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill {signal} {pid} failed"))
        }
    }

    fn run(&self, action: &str, fresh: bool) -> Result<(), String> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/dynamodb-local.sh");
        let output = Command::new(script)
            .arg(action)
            .env("DDB_PORT", self.port.to_string())
            .env("DDB_DATA_DIR", &self.data_dir)
            .env("DDB_IN_MEMORY", "0")
            .env("DDB_FRESH", if fresh { "1" } else { "0" })
            .output()
            .map_err(|e| format!("scripts/dynamodb-local.sh {action}: {e}"))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "scripts/dynamodb-local.sh {action} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.resume();
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
