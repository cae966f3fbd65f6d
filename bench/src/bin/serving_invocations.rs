//! `serving_invocations`: `POST /invocations` throughput (clips/s) and latency (p50/p99) at
//! N concurrent clients on rendered 30 s raw-audio clips, with the inference worker batching
//! concurrent clips vs running them one at a time, in the same run (run via
//! `bench/serving/run.sh`).
//!
//! The server is `registry_server::serving::model_app` (what `ragasense serve-model` runs)
//! on a loopback port inside this process, on its own tokio runtime; the clients are another
//! runtime. Each request carries one clip, as `audio_base64` (a 16-bit WAV, the default) or
//! as `audio` float samples (`--input samples`).
//!
//! ```text
//! serving_invocations [--clients 8] [--requests 48] [--seconds 30] [--clips 8]
//!                     [--input wav|samples] [--model DIR] [--out FILE]
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use raga_synth::{RAGAS, RenderOptions, Split, clip_seed, render};
use registry_server::serving::{Batching, ServedModel, model_app};
use serde::Serialize;
use serde_json::json;

const DEFAULT_MODEL: &str = "tests/fixtures/model-small-int8";
const DEFAULT_OUT: &str = "target/bench/serving_invocations.json";

#[derive(Debug)]
struct Options {
    clients: usize,
    requests: usize,
    seconds: f32,
    clips: usize,
    samples: bool,
    model: PathBuf,
    out: PathBuf,
}

fn options() -> Result<Options> {
    let mut o = Options {
        clients: 8,
        requests: 48,
        seconds: 30.0,
        clips: 8,
        samples: false,
        model: DEFAULT_MODEL.into(),
        out: DEFAULT_OUT.into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--clients" => o.clients = value()?.parse().context("--clients")?,
            "--requests" => o.requests = value()?.parse().context("--requests")?,
            "--seconds" => o.seconds = value()?.parse().context("--seconds")?,
            "--clips" => o.clips = value()?.parse().context("--clips")?,
            "--input" => {
                o.samples = match value()?.as_str() {
                    "wav" => false,
                    "samples" => true,
                    other => bail!("--input {other}: use wav or samples"),
                }
            }
            "--model" => o.model = value()?.into(),
            "--out" => o.out = value()?.into(),
            other => {
                bail!("unknown option {other}; see the doc comment of bench/src/bin/serving_invocations.rs")
            }
        }
    }
    if o.clients == 0 || o.requests == 0 || o.clips == 0 {
        bail!("--clients, --requests and --clips must be at least 1");
    }
    Ok(o)
}

/// One mode's numbers.
#[derive(Debug, Serialize)]
struct ModeResult {
    mode: &'static str,
    max_batch_clips: usize,
    requests: usize,
    wall_s: f64,
    clips_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn main() -> Result<()> {
    let o = options()?;
    let (manifest, weights) = raga_train::package::read_package(&o.model)
        .with_context(|| format!("reading the model package {}", o.model.display()))?;
    eprintln!("rendering {} clips of {} s", o.clips, o.seconds);
    let opts = RenderOptions { seconds: o.seconds, ..RenderOptions::default() };
    let mut bodies = Vec::with_capacity(o.clips);
    for i in 0..o.clips {
        let raga = &RAGAS[i % RAGAS.len()];
        let clip = render(raga, clip_seed(2027, Split::Test, i % RAGAS.len(), i as u64), &opts)
            .map_err(|e| anyhow::anyhow!("rendering clip {i}: {e}"))?;
        let record = if o.samples {
            json!({"audio": clip.samples, "sample_rate": raga_synth::SAMPLE_RATE})
        } else {
            let wav =
                raga_audio::encode_wav(&clip.samples, raga_synth::SAMPLE_RATE).context("encoding WAV")?;
            json!({"audio_base64": base64::engine::general_purpose::STANDARD.encode(wav)})
        };
        bodies.push(serde_json::to_vec(&json!({"instances": [record]})).context("writing JSON")?);
    }
    let bodies = Arc::new(bodies);
    eprintln!("request body: {:.1} MB", bodies[0].len() as f64 / 1e6);

    let mut results = Vec::new();
    for (mode, batching) in
        [("batched", Batching { max_clips: 16, max_windows: 64 }), ("one_at_a_time", Batching::off())]
    {
        let model =
            ServedModel::load("bench", "local", &manifest, weights.clone()).context("loading the model")?;
        let r = run_mode(&o, mode, batching, model, bodies.clone())?;
        eprintln!(
            "{mode:>14}: {:.2} clips/s  p50 {:.0} ms  p99 {:.0} ms  ({} requests in {:.1} s, {} clients)",
            r.clips_per_s, r.p50_ms, r.p99_ms, r.requests, r.wall_s, o.clients
        );
        results.push(r);
    }
    let ratio = results[0].clips_per_s / results[1].clips_per_s.max(1e-9);
    println!(
        "serving /invocations, {} clients, {} s clips ({}): batched {:.2} clips/s (p50 {:.0} ms, p99 {:.0} ms) vs \
         one at a time {:.2} clips/s (p50 {:.0} ms, p99 {:.0} ms): throughput ratio {ratio:.2}x",
        o.clients,
        o.seconds,
        if o.samples { "audio samples" } else { "audio_base64 WAV" },
        results[0].clips_per_s,
        results[0].p50_ms,
        results[0].p99_ms,
        results[1].clips_per_s,
        results[1].p50_ms,
        results[1].p99_ms,
    );
    let report = json!({
        "clients": o.clients,
        "seconds": o.seconds,
        "input": if o.samples { "samples" } else { "wav" },
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "results": results,
        "throughput_ratio_batched_vs_one_at_a_time": ratio,
    });
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&o.out, serde_json::to_vec_pretty(&report).context("writing JSON")?)
        .with_context(|| format!("writing {}", o.out.display()))?;
    eprintln!("wrote {}", o.out.display());
    Ok(())
}

/// Starts a server with `batching`, warms it up, then lets `clients` post `requests` clips.
fn run_mode(
    o: &Options,
    mode: &'static str,
    batching: Batching,
    model: ServedModel,
    bodies: Arc<Vec<Vec<u8>>>,
) -> Result<ModeResult> {
    let server =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("server runtime")?;
    let listener =
        server.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).context("binding a loopback port")?;
    let url = format!("http://{}/invocations", listener.local_addr().context("local address")?);
    server.spawn(async move {
        if let Err(err) = axum::serve(listener, model_app(model, batching)).await {
            eprintln!("server: {err}");
        }
    });

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("client runtime")?;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(600)).build().context("HTTP client")?;
    clients.block_on(post(&http, &url, &bodies[0])).context("warm-up request")?;

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let latencies: Vec<f64> = clients.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..o.clients {
            let (http, url, bodies, next, total) =
                (http.clone(), url.clone(), bodies.clone(), next.clone(), o.requests);
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= total {
                        return Ok::<_, anyhow::Error>(mine);
                    }
                    let t = Instant::now();
                    post(&http, &url, &bodies[i % bodies.len()]).await?;
                    mine.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.context("client task")??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let wall_s = start.elapsed().as_secs_f64();
    server.shutdown_timeout(Duration::from_secs(1));
    let mut sorted = latencies;
    sorted.sort_by(f64::total_cmp);
    let pct = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    Ok(ModeResult {
        mode,
        max_batch_clips: batching.max_clips,
        requests: sorted.len(),
        wall_s,
        clips_per_s: sorted.len() as f64 / wall_s,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    })
}

async fn post(http: &reqwest::Client, url: &str, body: &[u8]) -> Result<()> {
    let resp = http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .context("posting a clip")?;
    let status = resp.status();
    let text = resp.text().await.context("reading the answer")?;
    if !status.is_success() || !text.contains("\"predictions\"") {
        bail!("/invocations answered {status}: {text}");
    }
    Ok(())
}
