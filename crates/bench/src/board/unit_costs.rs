//! What one of the board's reads costs the Temporal server, measured call by call, each
//! repeated back to back, less what the server spends meanwhile on its own (measured just
//! before): a refresh (the deployments changed in the last two minutes, and a count of the
//! running ones), the refresh made while some worker is older or that count disagrees (every
//! running deployment and those closed in the last two minutes), one close-event read, the
//! window check of `board.rebuild_interval` (a count of the window's closed deployments) and
//! a read of the whole window (when that check finds a difference). A whole phase's CPU cannot
//! tell a few lists an hour from the dev server's own noise; calls back to back can.

use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt as _;
use gdt_tracker::board::visibility::{closed_count_query, refresh_queries, rows_queries};
use serde::Serialize;
use temporalio_client::{
    Client, HistoryEventFilterType, UntypedWorkflow, WorkflowCountOptions,
    WorkflowFetchHistoryOptions, WorkflowListOptions,
};

use crate::error::{Error, Result};
use crate::processes::proc_stats;
use crate::report::round;

/// Calls of each kind.
const CALLS: usize = 100;

/// How long the server's own CPU is watched before the calls.
const BASELINE: Duration = Duration::from_secs(10);

/// Batches the refresh's calls are measured in (of `CALLS / BATCHES` each).
const BATCHES: usize = 5;

/// Whole-window reads (each thousands of rows: a few are enough).
const REBUILDS: usize = 3;

/// The window a rebuild reads (`board.history_days`' default).
const WINDOW: chrono::Duration = chrono::Duration::days(30);

/// The Temporal server's CPU per board read.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct UnitCosts {
    /// The server's CPU seconds per second while nobody called (subtracted below).
    pub baseline_cpu_seconds_per_second: f64,
    /// Refreshes read (each a list of the deployments changed in the last two minutes and a
    /// count of the running ones).
    pub lists: usize,
    /// Workflows one refresh read.
    pub rows_per_list: usize,
    /// CPU seconds per list of what changed.
    pub cpu_seconds_per_list: f64,
    /// CPU seconds per list of what changed when nothing did (what a list costs before its
    /// rows).
    pub cpu_seconds_per_empty_list: f64,
    /// CPU seconds per count of the running deployments.
    pub cpu_seconds_per_running_count: f64,
    /// Workflows one refresh read while some worker is older than revision 4, or when the
    /// running count disagrees (two lists: the running deployments, then those closed in the
    /// last two minutes).
    pub rows_per_running_list: usize,
    /// CPU seconds per such refresh.
    pub cpu_seconds_per_running_list: f64,
    /// Close events read (each a different closed workflow).
    pub outcome_reads: usize,
    /// CPU seconds per close-event read.
    pub cpu_seconds_per_outcome_read: f64,
    /// CPU seconds per window check (`board.rebuild_interval`: the closed deployments of 30
    /// days counted).
    pub cpu_seconds_per_window_check: f64,
    /// Whole-window reads (when a window check differs, and a server's first read: the
    /// running deployments and those closed in 30 days).
    pub rebuilds: usize,
    /// Workflows one rebuild read.
    pub rows_per_rebuild: usize,
    /// CPU seconds per rebuild.
    pub cpu_seconds_per_rebuild: f64,
}

/// Measures both, on the server of process `temporal_pid`, with deployments of `task_queue`
/// and the closed workflows `closed` (at least [`CALLS`] of them ideally).
pub async fn measure(
    client: &Client,
    temporal_pid: u32,
    task_queue: &str,
    closed: &[String],
) -> Result<UnitCosts> {
    let cpu = || {
        proc_stats(temporal_pid)
            .map(|s| s.cpu_seconds)
            .map_err(|e| Error::Usage(format!("reading the Temporal server's CPU: {e}")))
    };
    let before = cpu()?;
    tokio::time::sleep(BASELINE).await;
    let baseline = (cpu()? - before) / BASELINE.as_secs_f64();
    let net = |spent: f64, took: Duration| (spent - baseline * took.as_secs_f64()).max(0.0);

    // As far back as a refresh reads: `board.visibility_lag`'s default.
    let lag = gdt_config::Config::default().board.visibility_lag;
    let since = Utc::now() - chrono::Duration::from_std(lag).unwrap_or_default();
    let refresh = refresh_queries(task_queue, since);
    // Nothing changed since a minute from now: what a list costs before its rows.
    let empty = refresh_queries(task_queue, Utc::now() + chrono::Duration::minutes(1)).changed;
    // A refresh's calls cost a few milliseconds, the size of the server's own bursts: they
    // are measured in interleaved batches, and each kind's median batch kept.
    let mut rows = 0;
    let (mut lists, mut empties, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..BATCHES {
        let (began, before) = (Instant::now(), cpu()?);
        for _ in 0..CALLS / BATCHES {
            rows = list(client, &refresh.changed).await?;
        }
        lists.push(net(cpu()? - before, began.elapsed()));
        let (began, before) = (Instant::now(), cpu()?);
        for _ in 0..CALLS / BATCHES {
            list(client, &empty).await?;
        }
        empties.push(net(cpu()? - before, began.elapsed()));
        let (began, before) = (Instant::now(), cpu()?);
        for _ in 0..CALLS / BATCHES {
            count(client, &refresh.running).await?;
        }
        counts.push(net(cpu()? - before, began.elapsed()));
    }
    let per_call = |batches: &mut Vec<f64>| median(batches) / (CALLS / BATCHES) as f64;

    let queries = rows_queries(task_queue, since);
    let (began, before) = (Instant::now(), cpu()?);
    let running_rows = passes(client, &queries, CALLS).await?;
    let running_cpu = net(cpu()? - before, began.elapsed());

    let reads: Vec<&String> = closed.iter().take(CALLS).collect();
    let (began, before) = (Instant::now(), cpu()?);
    for id in &reads {
        close_event(client, id).await?;
    }
    let read_cpu = net(cpu()? - before, began.elapsed());

    let check = closed_count_query(task_queue, Utc::now() - WINDOW);
    let (began, before) = (Instant::now(), cpu()?);
    for _ in 0..CALLS {
        count(client, &check).await?;
    }
    let check_cpu = net(cpu()? - before, began.elapsed());

    let queries = rows_queries(task_queue, Utc::now() - WINDOW);
    let (began, before) = (Instant::now(), cpu()?);
    let rows_per_rebuild = passes(client, &queries, REBUILDS).await?;
    let rebuild_cpu = net(cpu()? - before, began.elapsed());

    Ok(UnitCosts {
        baseline_cpu_seconds_per_second: round(baseline),
        lists: CALLS,
        rows_per_list: rows,
        cpu_seconds_per_list: precise(per_call(&mut lists)),
        cpu_seconds_per_empty_list: precise(per_call(&mut empties)),
        cpu_seconds_per_running_count: precise(per_call(&mut counts)),
        rows_per_running_list: running_rows,
        cpu_seconds_per_running_list: precise(running_cpu / CALLS as f64),
        outcome_reads: reads.len(),
        cpu_seconds_per_outcome_read: precise(read_cpu / reads.len().max(1) as f64),
        cpu_seconds_per_window_check: precise(check_cpu / CALLS as f64),
        rebuilds: REBUILDS,
        rows_per_rebuild,
        cpu_seconds_per_rebuild: precise(rebuild_cpu / REBUILDS as f64),
    })
}

/// Lists every query `times` over, back to back, as a board read does; the workflows one pass
/// read.
async fn passes(client: &Client, queries: &[String], times: usize) -> Result<usize> {
    let mut rows = 0;
    for _ in 0..times {
        rows = 0;
        for query in queries {
            rows += list(client, query).await?;
        }
    }
    Ok(rows)
}

/// Every page of `query`; the number of workflows.
async fn list(client: &Client, query: &str) -> Result<usize> {
    let mut stream = client.list_workflows(query.to_owned(), WorkflowListOptions::default());
    let mut n = 0;
    while let Some(item) = stream.next().await {
        item.map_err(|e| Error::Temporal(format!("listing the board's rows: {e}")))?;
        n += 1;
    }
    Ok(n)
}

/// How many workflows `query` matches.
async fn count(client: &Client, query: &str) -> Result<usize> {
    let counted = client
        .count_workflows(query.to_owned(), WorkflowCountOptions::default())
        .await
        .map_err(|e| Error::Temporal(format!("counting the board's rows: {e}")))?;
    Ok(counted.count())
}

/// The close event of `workflow_id`, as the board reads an outcome.
async fn close_event(client: &Client, workflow_id: &str) -> Result<()> {
    let options = WorkflowFetchHistoryOptions::builder()
        .skip_archival(true)
        .event_filter_type(HistoryEventFilterType::CloseEvent)
        .build();
    client
        .get_workflow_handle::<UntypedWorkflow>(workflow_id.to_owned())
        .fetch_history(options)
        .into_events()
        .await
        .map_err(|e| Error::Temporal(format!("reading the close event of {workflow_id}: {e}")))?;
    Ok(())
}

/// The median of `values` (sorted in place); 0 for none.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// Six decimals: a call costs milliseconds.
fn precise(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_batch_leaves_out_a_burst() {
        assert_eq!(median(&mut [0.02, 0.9, 0.03, 0.025, 0.021]), 0.025);
        assert_eq!(median(&mut []), 0.0);
    }
}
