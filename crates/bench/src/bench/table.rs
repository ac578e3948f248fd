//! The readable summary of `gdt-bench run`: the report as a table, a section per scenario.

use super::BenchReport;
use crate::board::{BoardResult, PhaseUsage, RouteStats, P99_TARGET_MS};
use crate::front::{FrontUsage, HttpLoad};
use crate::report::{mib, ms, Table};

impl BenchReport {
    /// The readable summary.
    pub fn table(&self) -> String {
        let mut t = Table::default();
        t.section(&format!(
            "gdt-bench run: {}; {} deployments x {} updates, {} in flight, {} cores, {} build",
            self.parameters.scenarios.join(", "),
            self.parameters.deployments,
            self.parameters.updates,
            self.parameters.concurrency,
            self.machine.nproc,
            self.machine.build_profile
        ));
        if let Some(d) = &self.scenarios.deployments {
            t.section("tracker (GitHubDeploymentWorkflow, gdt worker)");
            t.row("completed", format!("{} of {}", d.completed, d.deployments));
            t.row("deployments per second", d.deployments_per_second);
            t.row("end to end p50/p95/p99", ms(d.end_to_end_ms.as_ref()));
            if let Some(g) = &d.github {
                t.row(
                    "signal to GitHub p50/p95/p99",
                    ms(g.signal_to_github_ms.as_ref()),
                );
                t.row(
                    "  same, unqueued",
                    ms(g.signal_to_github_unqueued_ms.as_ref()),
                );
                let p = &g.per_deployment;
                t.row(
                    "GitHub requests per deployment",
                    format!(
                        "{:.3} (create {:.3}, status {:.3}, token {:.4}, other {:.3})",
                        p.total, p.create_deployment, p.create_status, p.token, p.other
                    ),
                );
            }
            match (&self.scenarios.unmetered, self.metrics_cpu_ratio) {
                (Some(u), Some(ratio)) => t.row(
                    "worker CPU s per 1000",
                    format!(
                        "{} (with metrics off: {}; ratio {ratio})",
                        d.worker.cpu_seconds_per_1000, u.worker.cpu_seconds_per_1000
                    ),
                ),
                _ => t.row("worker CPU s per 1000", d.worker.cpu_seconds_per_1000),
            }
            if let Some(m) = &d.metrics {
                t.row(
                    "worker /metrics scrapes",
                    format!(
                        "{} ({} failed), last {}",
                        m.scrapes,
                        m.failures,
                        m.bytes.map_or("none".to_owned(), |b| format!("{b} bytes"))
                    ),
                );
            }
            t.row("worker peak RSS", mib(d.worker.peak_rss_bytes));
            temporal_rows(&mut t, d);
            t.opt("harness CPU s", d.harness_cpu_seconds);
        }
        if let Some(u) = &self.scenarios.unmetered {
            t.section("unmetered (the tracker, gdt worker with metrics off)");
            t.row("completed", format!("{} of {}", u.completed, u.deployments));
            t.row("deployments per second", u.deployments_per_second);
            t.row("worker CPU s per 1000", u.worker.cpu_seconds_per_1000);
            t.row("worker peak RSS", mib(u.worker.peak_rss_bytes));
        }
        if let Some(c) = &self.scenarios.ceiling {
            t.section("ceiling (GitHubDeploymentWorkflow, no-op activities)");
            t.row("completed", format!("{} of {}", c.completed, c.deployments));
            t.row("deployments per second", c.deployments_per_second);
            t.row("end to end p50/p95/p99", ms(c.end_to_end_ms.as_ref()));
            t.row("worker CPU s per 1000", c.worker.cpu_seconds_per_1000);
            t.row("worker peak RSS", mib(c.worker.peak_rss_bytes));
            temporal_rows(&mut t, c);
        }
        if self.throughput_ratio.is_some() {
            t.opt(
                "throughput ratio (tracker / ceiling)",
                self.throughput_ratio,
            );
        }
        if let Some(a) = &self.scenarios.api {
            t.section("api (gdt serve + gdt worker)");
            http_rows(&mut t, "POST /api/v1/deployments", &a.start);
            t.row(
                "  answered with the deployment id",
                format!("{} of {}", a.started_with_deployment_id, a.start.requests),
            );
            http_rows(&mut t, "POST .../status (success)", &a.status);
            t.row(
                "workflows completed",
                format!("{} of {}", a.completed, a.start.requests),
            );
            t.row(
                "GitHub requests per deployment",
                a.github_requests_per_deployment,
            );
            usage_rows(&mut t, &a.usage);
        }
        if let Some(w) = &self.scenarios.webhooks {
            t.section(
                "webhooks (signed pull_request opened, then synchronize; gdt serve + gdt worker)",
            );
            http_rows(&mut t, "POST /webhook", &w.deliveries);
            t.row(
                "checks completed",
                format!(
                    "{} of {} started, {:.1}/s, all done {:.0} s after the first delivery",
                    w.checks_completed,
                    w.checks_started,
                    w.checks_per_second,
                    w.checks_wall_seconds
                ),
            );
            let pushes = &w.github_requests_per_pushed_head;
            for (what, cost) in [
                ("first push", &pushes.first_push),
                ("second push", &pushes.later_push),
                ("third push (steady)", &pushes.steady_push),
            ] {
                t.row(
                    &format!("GitHub requests per head, {what}"),
                    format!("{} counted, {} free (304)", cost.counted, cost.free),
                );
            }
            t.row(
                "later pushes' checks completed",
                format!(
                    "{} and {} of {} each",
                    w.later_checks_completed,
                    w.steady_checks_completed,
                    2 * w.later_deliveries.requests
                ),
            );
            usage_rows(&mut t, &w.usage);
        }
        if let Some(b) = &self.scenarios.board {
            board_rows(&mut t, b);
        }
        if let Some(idle) = &self.scenarios.idle {
            t.section("idle (deployments open, waiting for updates)");
            t.row("worker RSS with none", mib(idle.baseline_rss_bytes));
            for p in &idle.points {
                t.row(
                    &format!("worker RSS with {}", p.open),
                    format!(
                        "{} ({} waiting, opened in {:.0} s)",
                        mib(p.rss_bytes),
                        p.waiting,
                        p.seconds_to_open
                    ),
                );
            }
        }
        t.row("wall time", format!("{:.0} s", self.wall_seconds));
        t.render()
    }
}

fn http_rows(t: &mut Table, what: &str, load: &HttpLoad) {
    let codes: Vec<String> = load
        .answers
        .iter()
        .map(|(code, n)| format!("{n}x{code}"))
        .collect();
    t.row(
        what,
        format!(
            "{:.1} requests/s ({}{})",
            load.requests_per_second,
            codes.join(", "),
            if load.transport_errors > 0 {
                format!(", {} unanswered", load.transport_errors)
            } else {
                String::new()
            }
        ),
    );
    t.row("  response p50/p95/p99", ms(load.response_ms.as_ref()));
}

fn usage_rows(t: &mut Table, usage: &FrontUsage) {
    t.row(
        "gdt serve CPU s / peak RSS",
        format!(
            "{} / {}",
            usage.server_cpu_seconds,
            mib(usage.server_peak_rss_bytes)
        ),
    );
    t.row(
        "gdt worker CPU s / peak RSS",
        format!(
            "{} / {}",
            usage.worker_cpu_seconds,
            mib(usage.worker_peak_rss_bytes)
        ),
    );
}

fn board_rows(t: &mut Table, b: &BoardResult) {
    let s = &b.setup;
    t.section(&format!(
        "board ({} deployments over {} repositories, {} lanes; gdt serve's reader API)",
        s.planned, b.spec.repos, b.lanes
    ));
    t.row(
        "started beforehand",
        format!(
            "{} of {} ({} failures, {} running) in {:.0} s, {:.1}/s{}",
            s.started,
            s.planned,
            s.failures,
            s.running,
            s.wall_seconds,
            s.deployments_per_second,
            if s.problems.is_empty() {
                String::new()
            } else {
                format!("; first problem: {}", s.problems[0])
            }
        ),
    );
    t.row(
        "Temporal CPU per deployment",
        format!(
            "{:.4} s ({} s for all of them)",
            s.temporal_cpu_seconds_per_deployment, s.temporal_cpu_seconds
        ),
    );
    t.row(
        "cold first read",
        format!(
            "{:.0} ms ({} lanes, {} bytes)",
            b.cold_read_ms, b.lanes, b.environments_bytes
        ),
    );
    t.row(
        "pages open",
        format!(
            "{} for {:.0} s ({} statuses arrived)",
            b.spec.browsers,
            b.phases.board.seconds,
            b.trickle.started + b.trickle.finished
        ),
    );
    for (route, stats) in &b.board_routes {
        route_rows(t, &format!("  GET {route}"), stats);
    }
    for (route, stats) in &b.stress_routes {
        route_rows(
            t,
            &format!("  stress: GET {route} ({} clients)", b.spec.browsers),
            stats,
        );
    }
    for (name, phase) in [
        ("idle", &b.phases.idle),
        ("board", &b.phases.board),
        ("stress", &b.phases.stress),
    ] {
        phase_row(t, name, phase);
    }
    for phase in ["warm_up", "idle", "board", "stress"] {
        let Some(operations) = b.temporal_requests.get(phase) else {
            continue;
        };
        let listed: Vec<String> = operations
            .iter()
            .map(|(operation, n)| format!("{operation} {n}"))
            .collect();
        t.row(
            &format!("{phase}: gdt serve's Temporal calls"),
            if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            },
        );
    }
    let v = &b.verdict;
    let verdict = |ok: bool| if ok { "yes" } else { "NO" };
    let p99 = |p: Option<f64>| p.map_or("-".to_owned(), |p| format!("{p:.0} ms"));
    t.row(
        &format!("p99 within {P99_TARGET_MS:.0} ms: pages"),
        format!(
            "{} ({}, the worst route)",
            verdict(v.pages_p99_within_target),
            p99(v.board_p99_ms)
        ),
    );
    t.row(
        &format!("p99 within {P99_TARGET_MS:.0} ms: stress"),
        format!(
            "{} ({}, the upper bound)",
            verdict(v.stress_p99_within_target),
            p99(v.stress_p99_ms)
        ),
    );
    t.row(
        "Temporal CPU-s/h: looking",
        format!(
            "{} ({} with the pages open - {} with nobody looking)",
            v.looking_temporal_cpu_seconds_per_hour,
            v.board_temporal_cpu_seconds_per_hour,
            v.idle_temporal_cpu_seconds_per_hour
        ),
    );
    t.row(
        "Temporal CPU-s/h: deployments",
        format!(
            "{} ({} per 30 days)",
            v.deployments_temporal_cpu_seconds_per_hour, b.spec.deployments
        ),
    );
    t.opt("looking / deployments", v.looking_over_deployments);
    let s = &b.steady;
    t.row(
        "steady looking, priced",
        format!(
            "{} CPU-s/h = {} refreshes x {:.2} ms ({} rows at this scale; measured: {} ms with {} rows, {} ms with none) + a running count of {} ms every {} + {} outcome reads + a window check of {} ms every {:.0} h",
            s.looking_temporal_cpu_seconds_per_hour,
            s.lists_per_hour,
            s.refresh_temporal_cpu_seconds * 1000.0,
            s.rows_per_refresh,
            b.unit_costs.cpu_seconds_per_list * 1000.0,
            b.unit_costs.rows_per_list,
            b.unit_costs.cpu_seconds_per_empty_list * 1000.0,
            b.unit_costs.cpu_seconds_per_running_count * 1000.0,
            gdt_tracker::board::service::RUNNING_COUNT_EVERY,
            s.outcome_reads_per_hour,
            s.window_check_temporal_cpu_seconds * 1000.0,
            s.rebuild_interval_seconds / 3600.0
        ),
    );
    t.row(
        "refresh of every running deployment",
        format!(
            "{} ms, {} rows (some worker older than revision 4, or the running count differs)",
            b.unit_costs.cpu_seconds_per_running_list * 1000.0,
            b.unit_costs.rows_per_running_list
        ),
    );
    t.row(
        "read of the whole window",
        format!(
            "{} CPU-s, {} rows (a server's first look, or a window check that differs)",
            s.rebuild_temporal_cpu_seconds, b.unit_costs.rows_per_rebuild
        ),
    );
    t.opt("steady looking / deployments", s.looking_over_deployments);
    t.row(
        "cold read, once per server",
        format!(
            "{} CPU-s ({} of the window's deployments)",
            s.cold_temporal_cpu_seconds,
            s.cold_over_window_deployments
                .map_or("-".to_owned(), |r| format!("{r}"))
        ),
    );
}

fn route_rows(t: &mut Table, what: &str, r: &RouteStats) {
    t.row(
        what,
        format!(
            "{} requests ({:.1}/s), {:.0} % 304, {} failed, {:.0} bytes per 200",
            r.requests,
            r.requests_per_second,
            r.not_modified_share * 100.0,
            r.failed,
            r.bytes_per_ok
        ),
    );
    t.row("    p50/p95/p99", ms(r.response_ms.as_ref()));
}

fn phase_row(t: &mut Table, name: &str, p: &PhaseUsage) {
    t.row(
        &format!("{name}: Temporal CPU s"),
        format!(
            "{} in {:.0} s ({}/h; second half {}/h); gdt serve {} CPU s, RSS {}",
            p.temporal_cpu_seconds,
            p.seconds,
            p.temporal_cpu_seconds_per_hour,
            p.second_half_temporal_cpu_seconds_per_hour,
            p.serve_cpu_seconds,
            mib(p.serve_rss_bytes)
        ),
    );
}

/// What a load cost the Temporal server: CPU, and history events per deployment by type.
fn temporal_rows(t: &mut Table, load: &super::LoadResult) {
    if let (Some(cpu), Some(per_1000)) = (
        load.temporal_server_cpu_seconds,
        load.temporal_cpu_per_1000(),
    ) {
        t.row(
            "Temporal server CPU s",
            format!("{cpu} ({per_1000:.1} per 1000 deployments)"),
        );
    }
    let Some(h) = &load.history else {
        return;
    };
    let d = &h.deployments;
    t.row(
        "history events per deployment",
        format!(
            "{} (min {}, max {}; {} read)",
            d.per_workflow, d.min, d.max, d.sampled
        ),
    );
    let by_type: Vec<String> = d.by_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
    t.row("  by type", by_type.join(", "));
    if let Some(l) = &h.lanes {
        t.row(
            "  its lane's events",
            format!(
                "{} per lane ({} read; one lane per deployment here)",
                l.per_workflow, l.sampled
            ),
        );
    }
}
