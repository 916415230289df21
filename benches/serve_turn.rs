//! A DeepResearcher-sized turn against a running `webtape serve`: 4,096 tool calls at once (half searches of three
//! queries on `/retrieve`, half `/browse` of recorded URLs), three rounds; prints wall time per round as JSON.
//! Run by `scripts/bench_serve.sh` (it starts the server and writes the query and URL files):
//! `SERVE_URL=http://127.0.0.1:8000 QUERIES=q.txt URLS=u.txt cargo bench --bench serve_turn`
use std::time::Instant;

use anyhow::{Context, Result};

const CALLS: usize = 4096;

async fn one_call(client: reqwest::Client, base: String, body: String, browse: bool) -> Result<u16> {
    let path = if browse { "browse" } else { "retrieve" };
    let resp =
        client.post(format!("{base}/{path}")).header("content-type", "application/json").body(body).send().await?;
    let status = resp.status().as_u16();
    resp.bytes().await?;
    Ok(status)
}

fn lines(var: &str) -> Result<Vec<String>> {
    let path = std::env::var(var).with_context(|| format!("set {var} (see scripts/bench_serve.sh)"))?;
    let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
    Ok(text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect())
}

fn main() -> Result<()> {
    let Ok(base) = std::env::var("SERVE_URL") else {
        eprintln!("serve_turn: SERVE_URL not set; run scripts/bench_serve.sh");
        return Ok(());
    };
    let (queries, urls) = (lines("QUERIES")?, lines("URLS")?);
    anyhow::ensure!(queries.len() >= 3 && !urls.is_empty(), "need queries and URLs");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let client = reqwest::Client::builder().pool_max_idle_per_host(CALLS).build()?;
    for round in 0..3 {
        let start = Instant::now();
        let statuses = runtime.block_on(async {
            let mut tasks = tokio::task::JoinSet::new();
            for i in 0..CALLS {
                let browse = i % 2 == 1;
                let body = if browse {
                    serde_json::json!({"url": urls[i % urls.len()], "question": "what is it?"}).to_string()
                } else {
                    let q: Vec<&str> = (0..3).map(|j| queries[(3 * i + j) % queries.len()].as_str()).collect();
                    format!("{{\"queries\":[{}],\"topk\":3,\"return_scores\":true}}", q.join(","))
                };
                tasks.spawn(one_call(client.clone(), base.clone(), body, browse));
            }
            let mut ok = 0;
            while let Some(done) = tasks.join_next().await {
                ok += usize::from(matches!(done, Ok(Ok(200))));
            }
            ok
        });
        let wall = start.elapsed().as_secs_f64();
        println!("{}", serde_json::json!({"round": round, "calls": CALLS, "ok": statuses, "wall_s": wall}));
    }
    Ok(())
}
