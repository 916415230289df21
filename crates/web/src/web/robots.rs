//! robots.txt: fetched once per origin (scheme, host, port), parsed with `texting_robots`, asked before every
//! page fetch. A missing robots.txt (4xx) allows everything, as does one that cannot be fetched or parsed.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use super::client::{self, USER_AGENT};
use super::retry::RetryPolicy;

/// Largest robots.txt read (Google reads 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 << 10;

type Entry = Arc<OnceCell<Option<Arc<Robot>>>>;

/// Per-origin robots.txt rules.
pub struct RobotsCache {
    enabled: bool,
    entries: Mutex<HashMap<String, Entry>>,
}

impl RobotsCache {
    /// A cache; with `enabled == false` every URL is allowed and nothing is fetched.
    pub fn new(enabled: bool) -> RobotsCache {
        RobotsCache { enabled, entries: Mutex::new(HashMap::new()) }
    }

    /// Whether our user agent may fetch `url`; fetches the origin's robots.txt with `client` the first time.
    pub async fn allowed(&self, client: &reqwest::Client, url: &Url) -> bool {
        if !self.enabled {
            return true;
        }
        let origin = url.origin().ascii_serialization();
        let entry = {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(origin.clone()).or_default().clone()
        };
        let robot = entry.get_or_init(|| fetch(client, origin)).await;
        robot.as_ref().is_none_or(|r| r.allowed(url.as_str()))
    }
}

async fn fetch(client: &reqwest::Client, origin: String) -> Option<Arc<Robot>> {
    let url = format!("{origin}/robots.txt");
    let policy = RetryPolicy { retries: 1, ..RetryPolicy::default() };
    let resp = client::send(|| client.get(&url), &policy, &url, MAX_ROBOTS_BYTES).await.ok()?;
    if !(200..300).contains(&resp.status) {
        return None;
    }
    let agent = USER_AGENT.split('/').next().unwrap_or("webtape");
    Robot::new(agent, &resp.body).ok().map(Arc::new)
}
