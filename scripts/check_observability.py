#!/usr/bin/env python3
"""Checks the alert rules, their unit tests, the PrometheusRule and the Grafana dashboards.

Run by `make obs-check` (part of `make test`); needs `promtool` (installed by
scripts/bootstrap.sh) and nothing but Python's standard library. It checks:

- deploy/prometheus/gdt-alerts.yml: `promtool check rules --lint-fatal`; every alert has a
  `for`, a severity (critical or warning), a summary, a description and a runbook_url pointing
  at its section of README.md's runbook; no annotation uses `{{ $value }}`.
- deploy/prometheus/gdt-prometheusrule.yaml: its `spec` is the rules file's groups, text for
  text (`GDT_BLESS=1` rewrites it from the rules file), and `promtool check rules` accepts them.
- deploy/prometheus/gdt-alerts.test.yml: `promtool test rules`; every alert has a test whose
  input fires it and one whose input does not.
- deploy/grafana/*.json: uid, title, schemaVersion, the `datasource` variable, every panel and
  query on `${datasource}`, unique panel ids, a description on each panel, a refId and an expr
  on each query, only known `$variables`; every expr, as a recording rule, passes
  `promtool check rules`.
- Everywhere (alerts, test inputs, dashboards): every metric name is one that gdt or the
  Temporal SDK exports, and a `gdt_` selector only matches on labels its family has.

Each failure names the file, the alert, test or panel, and what is wrong; the exit status is 1
when anything failed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy/prometheus/gdt-alerts.yml"
RULE_TESTS = ROOT / "deploy/prometheus/gdt-alerts.test.yml"
PROMETHEUS_RULE = ROOT / "deploy/prometheus/gdt-prometheusrule.yaml"
DASHBOARDS = ROOT / "deploy/grafana"
METRICS_SRC = ROOT / "crates/metrics/src/lib.rs"
README = ROOT / "README.md"
RUNBOOK_BASE = "https://github.com/gdt-project/github-deployment-tracker/blob/main/README.md#"

# What the PrometheusRule holds above its `spec`; below it come the rules file's groups.
PROMETHEUS_RULE_HEAD = """\
# The alert rules of gdt-alerts.yml as a prometheus-operator PrometheusRule. Generated: edit
# gdt-alerts.yml, then run `GDT_BLESS=1 python3 scripts/check_observability.py`; `make test`
# fails while the two differ. The operator's ruleSelector must match the labels below.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: gdt
  labels:
    app.kubernetes.io/name: github-deployment-tracker
    app.kubernetes.io/component: alerts
spec:
"""

# The Temporal SDK's families as its Prometheus exporter names them with the options gdt sets
# (counters_total_suffix, unit_suffix, use_seconds_for_durations): the prefix `temporal_`,
# counters ending `_total`, duration histograms ending `_seconds`. Taken from
# temporalio-sdk-core-0.10.1/src/telemetry/metrics.rs (worker families),
# temporalio-client-1.1.1/src/metrics.rs (client families) and
# temporalio-common-1.1.1/src/telemetry/metrics.rs (the histogram name constants); the
# suffixes from temporalio-common-1.1.1/src/telemetry/prometheus_meter.rs.
SDK_FAMILIES = {
    # Workflows.
    "temporal_workflow_completed_total": "counter",
    "temporal_workflow_canceled_total": "counter",
    "temporal_workflow_failed_total": "counter",
    "temporal_workflow_continue_as_new_total": "counter",
    "temporal_workflow_endtoend_latency_seconds": "histogram",
    # Workflow tasks.
    "temporal_workflow_task_queue_poll_empty_total": "counter",
    "temporal_workflow_task_queue_poll_succeed_total": "counter",
    "temporal_workflow_task_execution_failed_total": "counter",
    "temporal_workflow_task_schedule_to_start_latency_seconds": "histogram",
    "temporal_workflow_task_replay_latency_seconds": "histogram",
    "temporal_workflow_task_execution_latency_seconds": "histogram",
    # Activities.
    "temporal_activity_poll_no_task_total": "counter",
    "temporal_activity_task_received_total": "counter",
    "temporal_activity_execution_failed_total": "counter",
    "temporal_activity_schedule_to_start_latency_seconds": "histogram",
    "temporal_activity_execution_latency_seconds": "histogram",
    "temporal_activity_succeed_endtoend_latency_seconds": "histogram",
    "temporal_local_activity_execution_cancelled_total": "counter",
    "temporal_local_activity_execution_failed_total": "counter",
    "temporal_local_activity_execution_latency_seconds": "histogram",
    "temporal_local_activity_succeed_endtoend_latency_seconds": "histogram",
    "temporal_local_activity_total_total": "counter",
    # Nexus (registered by the SDK; gdt runs no Nexus tasks).
    "temporal_nexus_poll_no_task_total": "counter",
    "temporal_nexus_task_schedule_to_start_latency_seconds": "histogram",
    "temporal_nexus_task_endtoend_latency_seconds": "histogram",
    "temporal_nexus_task_execution_latency_seconds": "histogram",
    "temporal_nexus_task_execution_failed_total": "counter",
    # The worker.
    "temporal_worker_start_total": "counter",
    "temporal_num_pollers": "gauge",
    "temporal_worker_task_slots_available": "gauge",
    "temporal_worker_task_slots_used": "gauge",
    "temporal_sticky_cache_hit_total": "counter",
    "temporal_sticky_cache_miss_total": "counter",
    "temporal_sticky_cache_size": "gauge",
    "temporal_sticky_cache_total_forced_eviction_total": "counter",
    # The client (workers and `gdt serve`).
    "temporal_request_total": "counter",
    "temporal_request_failure_total": "counter",
    "temporal_long_request_total": "counter",
    "temporal_long_request_failure_total": "counter",
    "temporal_request_latency_seconds": "histogram",
    "temporal_long_request_latency_seconds": "histogram",
}

# Series Prometheus itself adds to every target.
SCRAPE_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# Labels Prometheus adds to every series it scrapes.
TARGET_LABELS = {"job", "instance"}
# Grafana's own variables, and what they stand for when an expr is checked.
GRAFANA_INTERVALS = {"__rate_interval", "__interval", "__range"}


class Failures:
    """Collects what is wrong, each as `file: where: what`."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, path: Path, where: str, what: str) -> None:
        self.items.append(f"{path.relative_to(ROOT)}: {where}: {what}")


# --- A reader for the YAML these files are written in -------------------------------------------
# The standard library has no YAML parser, and the files are ours: block mappings and
# sequences, plain and quoted one-line scalars, `|`/`>` block scalars, `[]` and comments. Any
# other construct is refused with its line number rather than misread.


class YamlError(Exception):
    pass


def load_yaml(text: str):
    lines = text.split("\n")
    reader = _YamlReader(lines)
    i = reader.skip(0)
    if i >= len(lines):
        return None
    value, i = reader.block(i, reader.indent(i))
    i = reader.skip(i)
    if i < len(lines):
        raise YamlError(f"line {i + 1}: unexpected indentation")
    return value


class _YamlReader:
    KEY = re.compile(r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{\[][^:#]*?)\s*:(?:\s+(.*))?$""")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    @staticmethod
    def _blank(line: str) -> bool:
        s = line.strip()
        return not s or s.startswith("#") or s == "---"

    def skip(self, i: int) -> int:
        while i < len(self.lines) and self._blank(self.lines[i]):
            i += 1
        return i

    def indent(self, i: int) -> int:
        line = self.lines[i]
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise YamlError(f"line {i + 1}: a tab in the indentation")
        return len(line) - len(line.lstrip(" "))

    def block(self, i: int, indent: int):
        if self.lines[i].strip().startswith("- ") or self.lines[i].strip() == "-":
            return self.sequence(i, indent)
        return self.mapping(i, indent)

    def sequence(self, i: int, indent: int):
        items = []
        while i < len(self.lines) and self.indent(i) == indent:
            content = self.lines[i].strip()
            if not (content.startswith("- ") or content == "-"):
                break
            rest = content[1:].lstrip()
            if not rest:
                j = self.skip(i + 1)
                value, i = self.block(j, self.indent(j))
            elif self.KEY.match(rest):
                # `- key: value` opens a mapping indented as far as `key`.
                inner = indent + (len(content) - len(rest))
                self.lines[i] = " " * inner + rest
                value, i = self.mapping(i, inner)
            else:
                value = self.scalar(rest, i)
                i += 1
            items.append(value)
            i = self.skip(i)
        return items, i

    def mapping(self, i: int, indent: int):
        out = {}
        while i < len(self.lines) and self.indent(i) == indent:
            content = self.lines[i].strip()
            if content.startswith("- "):
                break
            m = self.KEY.match(content)
            if not m:
                raise YamlError(f"line {i + 1}: not `key: value`: {content!r}")
            key = self.scalar(m.group(1), i)
            rest = (m.group(2) or "").strip()
            if key in out:
                raise YamlError(f"line {i + 1}: key {key!r} appears twice")
            if rest and rest[0] in "|>":
                out[key], i = self.block_scalar(i, indent, rest)
            elif rest and not rest.startswith("#"):
                out[key] = self.scalar(rest, i)
                i = self.skip(i + 1)
                if i < len(self.lines) and self.indent(i) > indent:
                    raise YamlError(f"line {i + 1}: a plain scalar on several lines")
            else:
                j = self.skip(i + 1)
                if j < len(self.lines) and (
                    self.indent(j) > indent
                    or (self.indent(j) == indent and self.lines[j].strip().startswith("- "))
                ):
                    out[key], i = self.block(j, self.indent(j))
                else:
                    out[key], i = None, j
            i = self.skip(i)
        return out, i

    def block_scalar(self, i: int, indent: int, header: str):
        if header not in ("|", "|-", ">", ">-"):
            raise YamlError(f"line {i + 1}: block scalar header {header!r} not supported")
        body: list[str] = []
        j = i + 1
        block_indent = None
        while j < len(self.lines):
            line = self.lines[j]
            if line.strip():
                ind = len(line) - len(line.lstrip(" "))
                if ind <= indent:
                    break
                if block_indent is None:
                    block_indent = ind
                if ind < block_indent:
                    raise YamlError(f"line {j + 1}: less indented than its block scalar")
                body.append(line[block_indent:])
            else:
                body.append("")
            j += 1
        while body and body[-1] == "":
            body.pop()
        if header[0] == "|":
            text = "\n".join(body)
        else:
            # Folding: lines are joined by spaces; an empty line stands for a line break.
            text, pending = "", ""
            for line in body:
                if line == "":
                    pending += "\n"
                elif not text:
                    text = line
                else:
                    text += (pending or " ") + line
                    pending = ""
        return (text if header.endswith("-") else text + "\n"), j

    def scalar(self, raw: str, i: int):
        s = raw.strip()
        if s[:1] in ("'", '"'):
            quoted = re.match(r'"(?:[^"\\]|\\.)*"' if s[0] == '"' else r"'(?:[^']|'')*'", s)
            after = s[quoted.end():].strip() if quoted else ""
            if not quoted or (after and not after.startswith("#")):
                raise YamlError(f"line {i + 1}: a quoted scalar that does not end where it should")
            # YAML's double-quoted escapes are JSON's, for what these files use.
            return json.loads(quoted.group(0)) if s[0] == '"' else quoted.group(0)[1:-1].replace("''", "'")
        s = re.sub(r"\s+#.*$", "", s)
        if s == "[]":
            return []
        if s == "{}":
            return {}
        if s[:1] in "[{&*!%@`|>":
            raise YamlError(f"line {i + 1}: {s!r}: flow collections, anchors and tags are not supported")
        return s


# --- Metric names -------------------------------------------------------------------------------


def gdt_families(failures: Failures) -> dict[str, set[str]]:
    """Every series name gdt exports, with the labels of its family, read from the
    registrations in crates/metrics/src/lib.rs: `counter(&registry, "gdt_…", "help", &[labels])`
    and its siblings. A histogram exports `_bucket` (with `le`), `_sum` and `_count`."""
    text = METRICS_SRC.read_text()
    registration = re.compile(
        r'\b(\w+)\(\s*&registry,\s*"(gdt_\w+)",\s*"(?:[^"\\]|\\.)*",\s*(?:&\[([^\]]*)\])?', re.S
    )
    series: dict[str, set[str]] = {}
    families = 0
    for kind, name, labels in registration.findall(text):
        families += 1
        label_set = set(re.findall(r'"(\w+)"', labels or ""))
        if kind.startswith("histogram"):
            series[f"{name}_bucket"] = label_set | {"le"}
            series[f"{name}_sum"] = label_set
            series[f"{name}_count"] = label_set
        elif kind in ("counter", "counter_vec", "float_counter_vec", "gauge", "gauge_vec"):
            series[name] = label_set
        else:
            failures.add(METRICS_SRC, name, f"registered by `{kind}`, a helper this script does not know")
    literals = set(re.findall(r'"(gdt_\w+)"', text))
    if families < 20 or families != len({n for _, n, _ in registration.findall(text)}):
        failures.add(METRICS_SRC, "registrations", f"found {families} `gdt_` families; the pattern in this script no longer matches how lib.rs registers them")
    missing = {n for n in literals if not any(s == n or s.startswith(n + "_") for s in series)}
    if missing:
        failures.add(METRICS_SRC, "registrations", f"names not seen as registrations: {sorted(missing)}")
    return series


def sdk_series() -> set[str]:
    out = set()
    for name, kind in SDK_FAMILIES.items():
        if kind == "histogram":
            out |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        else:
            out.add(name)
    return out


# Words that stand where a metric name could and are not one.
PROMQL_WORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
    "group_right", "inf", "nan", "atan2", "sum", "min", "max", "avg", "group", "stddev",
    "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "start", "end",
}
LABEL_LIST_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def selectors(expr: str) -> list[tuple[str, list[str]]]:
    """The metric name of each vector selector in a PromQL expression, with the label names
    its matchers use. Strings, durations, numbers, functions, keywords and label lists are
    stepped over; that is enough for names, without a full parser."""
    out = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = i + 1
            while j < n and expr[j] != c:
                j += 2 if expr[j] == "\\" else 1
            i = j + 1
        elif c == "[":
            i = expr.index("]", i) + 1
        elif c == "{":
            # A selector with no name in front (`{__name__=…}`): not used here.
            j = _matchers_end(expr, i)
            out.append(("", _matcher_labels(expr[i + 1 : j])))
            i = j + 1
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            m = re.match(r"[0-9.]+(?:e[+-]?[0-9]+)?[a-zA-Z]*", expr[i:])
            i += m.end()
        elif c.isalpha() or c in "_:":
            m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr[i:])
            word = m.group(0)
            i += m.end()
            rest = expr[i:].lstrip()
            if word in LABEL_LIST_WORDS and rest.startswith("("):
                i = expr.index(")", i) + 1
            elif rest.startswith("(") or word in PROMQL_WORDS:
                continue
            else:
                labels: list[str] = []
                if rest.startswith("{"):
                    start = expr.index("{", i)
                    end = _matchers_end(expr, start)
                    labels = _matcher_labels(expr[start + 1 : end])
                    i = end + 1
                out.append((word, labels))
        else:
            i += 1
    return out


def _matchers_end(expr: str, start: int) -> int:
    j = start + 1
    while expr[j] != "}":
        if expr[j] in "\"'`":
            quote = expr[j]
            j += 1
            while expr[j] != quote:
                j += 2 if expr[j] == "\\" else 1
        j += 1
    return j


def _matcher_labels(body: str) -> list[str]:
    body = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', body)
    return re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", body)


def check_names(expr: str, known: dict[str, set[str] | None], failures: Failures, path: Path, where: str) -> None:
    for name, labels in selectors(expr):
        if not name:
            failures.add(path, where, "a selector without a metric name")
        elif name not in known:
            failures.add(path, where, f"{name}: no such metric is exported by gdt or the Temporal SDK")
        elif known[name] is not None:
            unknown = set(labels) - known[name] - TARGET_LABELS
            if unknown:
                failures.add(path, where, f"{name} has no label {', '.join(sorted(unknown))} (it has {', '.join(sorted(known[name])) or 'none'})")


# --- promtool -----------------------------------------------------------------------------------


def promtool(*args: str) -> tuple[bool, str]:
    run = subprocess.run(["promtool", *args], capture_output=True, text=True)
    return run.returncode == 0, (run.stdout + run.stderr).strip()


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def readme_anchors() -> set[str]:
    anchors, fenced = set(), False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors


# --- The checks ---------------------------------------------------------------------------------


def promtool_and_load(failures: Failures, path: Path, *command: str):
    """Runs `promtool <command> <path>`, then reads the file (None when it is not readable)."""
    ok, out = promtool(*command, str(path))
    if not ok:
        failures.add(path, f"promtool {command[0]} {command[1]}", out)
    try:
        return load_yaml(path.read_text())
    except YamlError as e:
        failures.add(path, "YAML", str(e))
        return None


def check_rules(failures: Failures, known: dict[str, set[str] | None]) -> list[dict]:
    doc = promtool_and_load(failures, RULES, "check", "rules", "--lint-fatal")
    if doc is None:
        return []
    anchors = readme_anchors()
    alerts = []
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            if not name:
                failures.add(RULES, f"group {group.get('name')}", f"a rule that is not an alert: {rule.get('record')}")
                continue
            alerts.append(rule)
            where = f"alert {name}"
            if not rule.get("for"):
                failures.add(RULES, where, "no `for`")
            if (rule.get("labels") or {}).get("severity") not in ("critical", "warning"):
                failures.add(RULES, where, "labels.severity is not critical or warning")
            notes = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not notes.get(key):
                    failures.add(RULES, where, f"no annotations.{key}")
            for key, text in notes.items():
                if "$value" in str(text):
                    failures.add(RULES, where, f"annotations.{key} uses $value, whose text the unit tests cannot pin")
            anchor = github_anchor(name)
            if notes.get("runbook_url") != RUNBOOK_BASE + anchor:
                failures.add(RULES, where, f"runbook_url is not {RUNBOOK_BASE + anchor}")
            if anchor not in anchors:
                failures.add(RULES, where, f"README.md has no heading `{name}` (anchor #{anchor}) in its runbook")
            check_names(rule.get("expr", ""), known, failures, RULES, where)
    return alerts


def check_prometheus_rule(failures: Failures) -> None:
    rules_text = RULES.read_text()
    start = re.search(r"^groups:", rules_text, re.M)
    if not start:
        failures.add(RULES, "groups", "no top-level `groups:` line")
        return
    body = rules_text[start.start() :]
    expected = PROMETHEUS_RULE_HEAD + "".join(
        ("  " + line if line.strip() else line) for line in body.splitlines(keepends=True)
    )
    if os.environ.get("GDT_BLESS") == "1":
        PROMETHEUS_RULE.write_text(expected)
    actual = PROMETHEUS_RULE.read_text() if PROMETHEUS_RULE.exists() else ""
    if actual != expected:
        failures.add(
            PROMETHEUS_RULE, "spec",
            "differs from the groups of gdt-alerts.yml: run `GDT_BLESS=1 python3 scripts/check_observability.py`",
        )
        return
    # The same groups, read back out of the PrometheusRule, for promtool and the YAML reader.
    try:
        doc = load_yaml(actual)
    except YamlError as e:
        failures.add(PROMETHEUS_RULE, "YAML", str(e))
        return
    if doc.get("kind") != "PrometheusRule" or (doc.get("spec") or {}).get("groups") != load_yaml(rules_text).get("groups"):
        failures.add(PROMETHEUS_RULE, "spec.groups", "does not read back as the rules file's groups")
    spec = actual[actual.index("\nspec:\n") + len("\nspec:\n") :]
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        f.write("".join(line[2:] if line.strip() else line for line in spec.splitlines(keepends=True)))
        f.flush()
        ok, out = promtool("check", "rules", "--lint-fatal", f.name)
        if not ok:
            failures.add(PROMETHEUS_RULE, "promtool check rules on spec.groups", out)


def check_rule_tests(failures: Failures, alerts: list[dict], known: dict[str, set[str] | None]) -> tuple[int, int]:
    doc = promtool_and_load(failures, RULE_TESTS, "test", "rules")
    if doc is None:
        return 0, 0
    names = {a["alert"] for a in alerts}
    fires: dict[str, int] = {n: 0 for n in names}
    quiet: dict[str, int] = {n: 0 for n in names}
    tests = doc.get("tests") or []
    for test in tests:
        where = f"test {test.get('name')!r}"
        for s in test.get("input_series") or []:
            check_names(s.get("series", ""), known, failures, RULE_TESTS, where)
        for case in test.get("alert_rule_test") or []:
            alert = case.get("alertname")
            if alert not in names:
                failures.add(RULE_TESTS, where, f"tests {alert}, which gdt-alerts.yml does not define")
                continue
            (fires if case.get("exp_alerts") else quiet)[alert] += 1
    for name in sorted(names):
        if not fires[name]:
            failures.add(RULE_TESTS, f"alert {name}", "no test whose input fires it")
        if not quiet[name]:
            failures.add(RULE_TESTS, f"alert {name}", "no test whose input leaves it quiet")
    return len(tests), sum(fires.values()) + sum(quiet.values())


def check_dashboards(failures: Failures, known: dict[str, set[str] | None]) -> dict[str, int]:
    counts = {}
    groups = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        try:
            dash = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            failures.add(path, "JSON", str(e))
            continue
        uid = dash.get("uid")
        for key in ("uid", "title"):
            if not isinstance(dash.get(key), str) or not dash.get(key):
                failures.add(path, "dashboard", f"no {key}")
        if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
            failures.add(path, "dashboard", "schemaVersion is missing or older than 36")
        variables = (dash.get("templating") or {}).get("list") or []
        names = {v.get("name") for v in variables}
        ds = [v for v in variables if v.get("name") == "datasource"]
        if not ds or ds[0].get("type") != "datasource" or ds[0].get("query") != "prometheus":
            failures.add(path, "templating", 'no variable {"name": "datasource", "type": "datasource", "query": "prometheus"}')
        for v in variables:
            if v.get("type") != "query":
                continue
            where = f"variable {v.get('name')}"
            if (v.get("datasource") or {}).get("uid") != "${datasource}":
                failures.add(path, where, "its datasource is not ${datasource}")
            query = v.get("query")
            query = query.get("query", "") if isinstance(query, dict) else str(query or "")
            m = re.match(r"label_values\((.*),\s*\w+\)$", query)
            if not m:
                failures.add(path, where, f"query {query!r} is not label_values(<selector>, <label>)")
                continue
            check_names(_grafana_to_promql(m.group(1)), known, failures, path, where)
        seen_ids: set = set()
        panels = _all_panels(dash.get("panels") or [])
        counts[path.name] = sum(1 for p in panels if p.get("type") != "row")
        for panel in panels:
            pid = panel.get("id")
            where = f"panel {pid} {panel.get('title')!r}"
            if not isinstance(pid, int):
                failures.add(path, where, "no numeric id")
            elif pid in seen_ids:
                failures.add(path, where, "id used by another panel")
            seen_ids.add(pid)
            if panel.get("type") == "row":
                continue
            if not panel.get("title") or not panel.get("description"):
                failures.add(path, where, "no title or no description")
            if "gridPos" not in panel:
                failures.add(path, where, "no gridPos")
            if (panel.get("datasource") or {}).get("uid") != "${datasource}":
                failures.add(path, where, "its datasource is not ${datasource}")
            targets = panel.get("targets") or []
            if not targets:
                failures.add(path, where, "no query")
            refs = [t.get("refId") for t in targets]
            if len(set(refs)) != len(refs) or not all(refs):
                failures.add(path, where, f"refIds missing or repeated: {refs}")
            rules = []
            for t in targets:
                twhere = f"{where} query {t.get('refId')}"
                if (t.get("datasource") or {}).get("uid") != "${datasource}":
                    failures.add(path, twhere, "its datasource is not ${datasource}")
                expr = t.get("expr")
                if not expr:
                    failures.add(path, twhere, "no expr")
                    continue
                for var in re.findall(r"\$\{?(\w+)", expr):
                    if var not in names and var not in GRAFANA_INTERVALS:
                        failures.add(path, twhere, f"${var} is not a variable of this dashboard")
                promql = _grafana_to_promql(expr)
                check_names(promql, known, failures, path, twhere)
                record = re.sub(r"\W", "_", f"dashboard:{uid}:{pid}:{t.get('refId')}")
                rules.append({"record": record, "expr": promql})
            if rules:
                groups.append({"name": f"{path.name} {where}", "rules": rules})
    # Every expr as a recording rule: promtool parses it as Prometheus would. The group name
    # says which file and panel a parse error is in.
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
        json.dump({"groups": groups}, f, indent=1)  # JSON is YAML.
        f.flush()
        ok, out = promtool("check", "rules", f.name)
        if not ok:
            failures.add(DASHBOARDS, "panel queries (promtool check rules)", out.replace(f.name, "<dashboard queries>"))
    return counts


def _all_panels(panels: list) -> list:
    out = []
    for p in panels:
        out.append(p)
        out.extend(_all_panels(p.get("panels") or []))
    return out


def _grafana_to_promql(expr: str) -> str:
    """Grafana's variables replaced by what Prometheus could be sent: `5m` for the interval
    variables, `.*` for every other variable (they are used in `=~` matchers)."""
    expr = re.sub(r"\$\{?(__rate_interval|__interval|__range)\}?", "5m", expr)
    return re.sub(r"\$\{\w+(?::\w+)?\}|\$\w+|\[\[\w+\]\]", ".*", expr)


def main() -> int:
    if not shutil.which("promtool"):
        print("check_observability: promtool is not installed: run `make bootstrap`", file=sys.stderr)
        return 1
    failures = Failures()
    known: dict[str, set[str] | None] = dict(gdt_families(failures))
    known.update({name: None for name in sdk_series() | SCRAPE_SERIES})
    alerts = check_rules(failures, known)
    check_prometheus_rule(failures)
    groups, cases = check_rule_tests(failures, alerts, known)
    panels = check_dashboards(failures, known)
    if failures.items:
        for item in failures.items:
            print(f"check_observability: {item}", file=sys.stderr)
        return 1
    print(
        f"check_observability: ok: {len(alerts)} alerts, {groups} rule tests ({cases} cases), "
        + ", ".join(f"{name}: {n} panels" for name, n in panels.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
