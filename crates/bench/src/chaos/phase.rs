//! One phase of a chaos run: its load, with its faults injected alongside (worker SIGKILLs,
//! a Temporal restart, GitHub's errors, rate limits and outage).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::watch;

use super::plan::{fault_name, Plan};
use super::report::{FaultEvent, PhaseReport, RestartCheck};
use crate::cli::Fault;
use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::load::{Driver, LoadSpec, Outcome, Progress, Trace};
use crate::processes::{DevServer, WorkerProcess};
use crate::report::round;

/// One phase: its load with its faults injected alongside.
pub(super) struct Phase<'a> {
    pub(super) plan: &'a Plan,
    pub(super) faults: &'a [Fault],
    /// Over which the phase's deployments start; faults are scheduled within it.
    pub(super) duration: Duration,
    pub(super) spec: &'a LoadSpec,
    pub(super) github: &'a GitHub,
    pub(super) worker: &'a Mutex<WorkerProcess>,
    pub(super) driver: &'a Driver,
}

impl Phase<'_> {
    pub(super) async fn run(&self, server: &mut DevServer) -> Result<(Vec<Trace>, PhaseReport)> {
        let began = Instant::now();
        let progress = Arc::new(Progress::default());
        let printer = progress.print_every(
            self.spec.phase.clone(),
            self.spec.count,
            Duration::from_secs(10),
        );
        let (done_tx, done_rx) = watch::channel(false);
        let events = Mutex::new(Vec::new());
        let note = |what: String| {
            eprintln!("  [{:>5.1} s] {what}", began.elapsed().as_secs_f64());
            lock(&events).push(FaultEvent {
                at_seconds: round(began.elapsed().as_secs_f64()),
                what,
            });
        };
        let load = async {
            let traces = self.driver.run(self.spec, &progress).await;
            let _ = done_tx.send(true);
            traces
        };
        let kills = async {
            if self.faults.contains(&Fault::WorkerKill) || self.faults.contains(&Fault::Supersede) {
                self.kill_worker(done_rx.clone(), &note).await
            } else {
                Ok((0, 0))
            }
        };
        let restart = async {
            if self.faults.contains(&Fault::TemporalRestart) {
                self.restart_temporal(server, began, &note).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let github = async {
            if self.faults.contains(&Fault::Github) {
                self.fail_github(done_rx.clone(), began, &note).await
            } else if self.faults.contains(&Fault::Supersede) {
                self.fail_github_requests(&note).await
            } else {
                Ok(())
            }
        };
        let (traces, kills, restart, github) = tokio::join!(load, kills, restart, github);
        drop(printer);
        // Whatever happened, the phase's faults end here.
        self.github.clear_faults().await?;
        let ((worker_kills, mut worker_exits), restart, ()) = (kills?, restart?, github?);
        {
            let mut worker = lock(self.worker);
            if !worker.is_running() {
                worker_exits += 1;
                note("gdt worker had exited by itself (see its log); started again".into());
                worker.restart()?;
            }
        }
        wait_worker_ready(self.worker).await?;
        let report = PhaseReport {
            name: self.spec.phase.clone(),
            faults: self
                .faults
                .iter()
                .map(|f| fault_name(*f).to_owned())
                .collect(),
            deployments: self.spec.count,
            load_seconds: round(began.elapsed().as_secs_f64()),
            settle_seconds: 0.0,
            lost_updates: 0,
            duplicate_deployments: 0,
            duplicate_statuses: 0,
            stuck_workflows: 0,
            events: events.into_inner().unwrap_or_else(|e| e.into_inner()),
            worker_kills,
            worker_exits,
            temporal_restart: restart,
            github_requests_by_fault: BTreeMap::new(),
            driver_retries: progress.retries.load(Ordering::Relaxed),
        };
        Ok((traces, report))
    }

    /// SIGKILLs the worker every `kill_every_secs` and starts it again, until the load is
    /// done. Returns the kills, and how often the worker was found to have exited by itself.
    async fn kill_worker(
        &self,
        mut done: watch::Receiver<bool>,
        note: &impl Fn(String),
    ) -> Result<(usize, usize)> {
        let every = Duration::from_secs(self.plan.kill_every_secs);
        let mut kills = 0;
        let mut exits = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = done.wait_for(|d| *d) => return Ok((kills, exits)),
            }
            let mut worker = lock(self.worker);
            if !worker.is_running() {
                // `gdt worker` exits when it cannot reach Temporal at start-up; a supervisor
                // (Kubernetes, systemd) would start it again, and so does this loop.
                exits += 1;
                note("gdt worker had exited by itself (see its log); starting it again".into());
            }
            let pid = worker.pid();
            worker.kill();
            worker.restart()?;
            kills += 1;
            note(format!(
                "gdt worker SIGKILLed (pid {}) and started again (pid {})",
                pid.unwrap_or_default(),
                worker.pid().unwrap_or_default()
            ));
        }
    }

    /// Stops Temporal a third into the phase, starts it again after `temporal_down_secs`,
    /// then checks with a probe deployment that the worker reconnected.
    async fn restart_temporal(
        &self,
        server: &mut DevServer,
        began: Instant,
        note: &impl Fn(String),
    ) -> Result<RestartCheck> {
        tokio::time::sleep_until((began + self.duration / 3).into()).await;
        let pid_before = lock(self.worker).pid();
        let stopped = Instant::now();
        server.stop().await;
        note(format!(
            "Temporal stopped (SIGTERM); down for {} s",
            self.plan.temporal_down_secs
        ));
        tokio::time::sleep(Duration::from_secs(self.plan.temporal_down_secs)).await;
        server.start_again().await?;
        let down_seconds = round(stopped.elapsed().as_secs_f64());
        note(format!(
            "Temporal started again on {} with the same database, after {down_seconds} s",
            server.address()
        ));
        let restarted = Instant::now();
        // A deployment started after the restart can only complete if a worker polls the
        // restarted server: the check that the worker reconnected by itself.
        let probe = LoadSpec {
            name: format!("{}-probe", self.spec.name),
            phase: "probe".into(),
            first: 0,
            count: 1,
            updates: 1,
            concurrency: 1,
            update_gap_ms: (0, 0),
            start_spread: Duration::ZERO,
            wait_for_result: false,
            inactivity_timeout: Duration::from_secs(600),
            execution_timeout: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(120),
            lane_size: 1,
        };
        let quiet = Arc::new(Progress::default());
        let traces = self.driver.run(&probe, &quiet).await;
        let (outcome, finished) = match traces.first() {
            Some(t) if t.start_error.is_none() => {
                self.driver
                    .wait_result(&t.workflow_id, Instant::now() + Duration::from_secs(180))
                    .await
            }
            Some(t) => (
                Outcome::Unknown(t.start_error.clone().unwrap_or_default()),
                false,
            ),
            None => (Outcome::Unknown("probe not run".into()), false),
        };
        let reconnected =
            finished && matches!(&outcome, Outcome::Completed(r) if r.final_status == "success");
        let worker_pid_unchanged = if self.faults.contains(&Fault::WorkerKill) {
            None
        } else {
            let mut worker = lock(self.worker);
            Some(worker.is_running() && worker.pid() == pid_before)
        };
        note(format!(
            "probe deployment after the restart: {}; worker pid unchanged: {}",
            describe_outcome(&outcome),
            worker_pid_unchanged.map_or("not checked (workers are being killed)".into(), |b| b
                .to_string())
        ));
        Ok(RestartCheck {
            down_seconds,
            worker_pid_unchanged,
            worker_reconnected: reconnected,
            probe_seconds: reconnected.then(|| round(restarted.elapsed().as_secs_f64())),
            probe: describe_outcome(&outcome),
        })
    }

    /// `error_rate` of GitHub requests answered 500, 502 or 502 after GitHub applied them, a
    /// third each, until the phase's faults are cleared.
    async fn fail_github_requests(&self, note: &impl Fn(String)) -> Result<()> {
        // Probability faults are tried in order, each sparing the rest, so three at p make
        // 1 - (1 - p)^3 of requests fail: solve for p.
        let p = 1.0 - (1.0 - self.plan.error_rate).powf(1.0 / 3.0);
        for kind in ["500", "502", "502_after_apply"] {
            self.github
                .add_fault(&json!({"path": "/**", "kind": kind, "probability": p}))
                .await?;
        }
        note(format!(
            "GitHub answers {:.0}% of requests with 500, 502 or 502-after-applying",
            self.plan.error_rate * 100.0
        ));
        Ok(())
    }

    /// 5xx on `error_rate` of requests throughout, a rate-limit burst every 10 s, and
    /// GitHub down for `outage_secs` a quarter into the phase. Returns when the load is done
    /// and the outage is over, whichever is later.
    async fn fail_github(
        &self,
        mut done: watch::Receiver<bool>,
        began: Instant,
        note: &impl Fn(String),
    ) -> Result<()> {
        self.fail_github_requests(note).await?;
        let outage_at = began + self.duration / 4;
        let outage_over = outage_at + Duration::from_secs(self.plan.outage_secs);
        let mut outage_started = false;
        let mut bursts = 0u32;
        let mut next_burst = began + Duration::from_secs(10);
        loop {
            let load_done = *done.borrow();
            if load_done && Instant::now() >= outage_over {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = done.changed(), if !load_done => {}
            }
            if !outage_started && Instant::now() >= outage_at {
                outage_started = true;
                self.github
                    .add_fault(&json!({"kind": "down", "seconds": self.plan.outage_secs}))
                    .await?;
                note(format!(
                    "GitHub down (503 on every request) for {} s",
                    self.plan.outage_secs
                ));
            }
            if Instant::now() >= next_burst {
                next_burst += Duration::from_secs(10);
                bursts += 1;
                let kind = if bursts % 2 == 1 {
                    "primary_rate_limit"
                } else {
                    "secondary_rate_limit"
                };
                self.github
                    .add_fault(&json!({"path": "/repos/**", "kind": kind, "count": 5}))
                    .await?;
                note(format!("the next 5 repository requests get a {kind}"));
            }
        }
    }
}

/// Waits until the worker polls its task queue (at most 60 s).
pub(super) async fn wait_worker_ready(worker: &Mutex<WorkerProcess>) -> Result<()> {
    // The lock is taken for each check only: the worker killer may need it meanwhile.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !lock(worker).check_ready()? {
        if Instant::now() >= deadline {
            return Err(Error::Process {
                what: "gdt worker was not ready within 60 s".into(),
                log: lock(worker).log().to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the value usable for what this harness does.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Completed(r) => format!("completed in {}", r.final_status),
        Outcome::Closed(why) => why.clone(),
        Outcome::NotWaited => "not waited for".into(),
        Outcome::Unknown(why) => format!("unknown: {why}"),
    }
}
