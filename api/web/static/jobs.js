// Ops jobs page: MUTT's Temporal schedules with their last and next runs and
// the recent runs' outcomes (each run's memo: an outcome line and counts),
// linked into the Temporal UI; "Run now" triggers a schedule (admin, with an
// audited reason) and follows the run it started until it closes.
(function () {
  "use strict";
  var M = window.MUTT;
  if (!M || M.page !== "jobs") { return; }
  var $ = M.$, el = M.el, api = M.api;

  function link(text, href, label) {
    if (!href) { return el("span", "—"); }
    var a = el("a", text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener";
    if (label) { a.setAttribute("aria-label", label); }
    return a;
  }
  function time(t) { return t ? t.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—"; }
  function took(r) {
    if (!r.started_at || !r.closed_at) { return "—"; }
    var ms = Date.parse(r.closed_at) - Date.parse(r.started_at);
    return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
  }
  function statusBadge(s) { return el("span", s, "run-status " + s); }

  // resultSummary condenses a run's result when it set no memo (runs from
  // before the outcome memo): its numbers, and per stream (DLQ runs) the
  // non-zero counts.
  function resultSummary(res) {
    var parts = [];
    if (res && typeof res === "object") {
      Object.keys(res).forEach(function (k) {
        var v = res[k];
        if (typeof v === "number" || typeof v === "boolean") { parts.push(k + " " + v); }
      });
      (Array.isArray(res.streams) ? res.streams : []).forEach(function (s) {
        var n = [];
        Object.keys(s).forEach(function (k) { if (typeof s[k] === "number" && s[k] !== 0) { n.push(k + " " + s[k]); } });
        parts.push(s.stream + ": " + (n.length ? n.join(", ") : "nothing to do"));
      });
    }
    return parts.join(" · ");
  }
  // countsText is the memo's non-zero counts ("created 2 · moved rows 8").
  function countsText(counts) {
    return Object.keys(counts || {}).filter(function (k) { return typeof counts[k] === "number" && counts[k] !== 0; })
      .map(function (k) { return k.replace(/_/g, " ") + " " + counts[k]; }).join(" · ");
  }
  // outcomeCell shows a run's outcome from its memo (the line, then the
  // counts), the result's numbers for a run without one, and its failure.
  function outcomeCell(r, cls) {
    var td = el("td", null, cls);
    if (!r) { td.textContent = "—"; return td; }
    var memo = r.memo || {};
    if (memo.outcome) {
      td.appendChild(el("div", String(memo.outcome), "outcome"));
      var c = countsText(memo.counts);
      if (c) { td.appendChild(el("div", c, "counts hint")); }
    } else if (r.result) {
      td.appendChild(el("div", resultSummary(r.result) || "—", "summary"));
    }
    if (r.failure) { td.appendChild(el("div", r.failure, "failure")); }
    if (!td.firstChild) { td.textContent = r.status === "running" ? "running…" : "—"; }
    return td;
  }

  var temporalOn = false;
  var followTimer = null;

  // runNow triggers the schedule after checking the reason and asking.
  function runNow(s) {
    var reason = $("jobs-action-reason").value.trim();
    if (reason === "") {
      $("jobs-action-error").textContent = "A reason is required: say why you run " + s.id + " now (it is audited).";
      $("jobs-action-reason").focus();
      return;
    }
    if (!window.confirm("Run " + s.id + " (" + s.workflow + ") now?")) { return; }
    api("POST", "/jobs/" + encodeURIComponent(s.id) + "/trigger", { reason: reason }).then(function (res) {
      if (!res.ok) { $("jobs-action-error").textContent = M.errText(res); return; }
      $("jobs-action-reason").value = "";
      var b = res.body;
      M.status(b.run ? "Started " + s.id + ": workflow " + b.run.workflow_id : "Triggered " + s.id + ". " + (b.message || ""));
      if (b.run) { follow(s, b.run); } else { load(); }
    });
  }

  // follow shows the started run and polls it until it closes, then
  // reloads the lists.
  function follow(s, run) {
    if (followTimer) { clearTimeout(followTimer); }
    $("jobs-run").hidden = false;
    $("jobs-run-text").textContent = "Run now of " + s.id + ": workflow " + run.workflow_id + " (run " + run.run_id + ").";
    var link = $("jobs-run-link");
    link.hidden = !run.temporal_url;
    if (run.temporal_url) { link.href = run.temporal_url; }
    var state = $("jobs-run-state");
    var show = function (r) {
      var text = "status: " + r.status;
      if (r.memo && r.memo.outcome) { text += " · " + r.memo.outcome; }
      var c = countsText(r.memo && r.memo.counts);
      if (c) { text += " · " + c; }
      if (r.failure) { text += " · " + r.failure; }
      state.textContent = text;
      state.dataset.status = r.status;
    };
    show(run);
    load();
    var poll = function () {
      api("GET", "/jobs/runs/" + encodeURIComponent(run.workflow_id) + "?run_id=" + encodeURIComponent(run.run_id)).then(function (res) {
        if (!res.ok) { state.textContent = M.errText(res); return; }
        show(res.body.run);
        if (res.body.run.status === "running" || res.body.run.status === "unknown") {
          followTimer = setTimeout(poll, 1000);
          return;
        }
        load();
      });
    };
    if (run.status === "running" || run.status === "unknown") { followTimer = setTimeout(poll, 500); }
  }

  function load() {
    var fresh = M.latest("jobs");
    $("jobs-table").setAttribute("aria-busy", "true");
    return api("GET", "/jobs").then(function (res) {
      if (!fresh()) { return; }
      $("jobs-table").removeAttribute("aria-busy");
      if (!res.ok) { M.status(M.errText(res), true); return; }
      var t = res.body.temporal;
      temporalOn = !!t.configured;
      var p = $("jobs-temporal");
      p.textContent = "";
      if (!t.configured) {
        p.className = "ops-temporal warn";
        p.textContent = t.message;
      } else {
        p.className = "ops-temporal hint";
        p.appendChild(document.createTextNode("Temporal namespace " + t.namespace + ", task queue " + t.task_queue + ". "));
        if (t.ui_url) { p.appendChild(link("Open the Temporal UI", t.ui_url)); }
      }
      $("jobs-updated").textContent = "updated at " + new Date().toISOString().replace(/\.\d+Z$/, "Z") + " (UTC)";
      var tb = $("jobs-rows"), rb = $("runs-rows");
      tb.textContent = "";
      rb.textContent = "";
      var runs = [];
      res.body.schedules.forEach(function (s) {
        var tr = el("tr");
        tr.dataset.schedule = s.id;
        var c = el("td");
        c.appendChild(el("div", s.id, "mono"));
        c.appendChild(el("div", s.workflow, "hint"));
        tr.appendChild(c);
        tr.appendChild(el("td", s.description));
        tr.appendChild(el("td", s.spec || "—"));
        var st = s.exists ? (s.paused ? "paused" : "active") : "missing";
        var sc = el("td");
        sc.appendChild(el("span", st, "badge " + (st === "active" ? "green" : st === "paused" ? "yellow" : "red")));
        if (s.note) { sc.appendChild(el("div", s.note, "hint")); }
        if (s.error) { sc.appendChild(el("div", s.error, "hint")); }
        tr.appendChild(sc);
        var lc = el("td", null, "last-run");
        if (s.last_run) {
          lc.appendChild(statusBadge(s.last_run.status));
          lc.appendChild(el("div", time(s.last_run.started_at), "hint"));
        } else {
          lc.textContent = "never";
        }
        tr.appendChild(lc);
        tr.appendChild(outcomeCell(s.last_run, "last-outcome"));
        tr.appendChild(el("td", (s.next_runs || []).length ? time(s.next_runs[0]) : "—"));
        var uc = el("td");
        uc.appendChild(link("schedule", s.temporal_url, "Schedule " + s.id + " in the Temporal UI"));
        uc.appendChild(document.createTextNode(" · "));
        uc.appendChild(link("all runs", s.runs_url, "Runs of " + s.id + " in the Temporal UI"));
        tr.appendChild(uc);
        var rc = el("td", null, "write");
        var b = M.button("Run " + s.id + " now", "run-now write", function () { runNow(s); }, "Run schedule " + s.id + " now");
        b.disabled = !temporalOn || !s.exists;
        rc.appendChild(b);
        tr.appendChild(rc);
        tb.appendChild(tr);
        (s.recent_runs || []).forEach(function (r) { runs.push({ s: s, r: r }); });
      });
      runs.sort(function (a, b) { return (b.r.started_at || "").localeCompare(a.r.started_at || ""); });
      runs.forEach(function (x) {
        var r = x.r;
        var tr = el("tr");
        tr.dataset.workflowId = r.workflow_id;
        tr.dataset.status = r.status;
        tr.appendChild(el("td", x.s.id, "mono"));
        var sc = el("td");
        sc.appendChild(statusBadge(r.status));
        tr.appendChild(sc);
        tr.appendChild(el("td", time(r.started_at)));
        tr.appendChild(el("td", took(r)));
        tr.appendChild(outcomeCell(r, "run-outcome"));
        var lc = el("td");
        lc.appendChild(link("open run", r.temporal_url, "Run " + r.workflow_id + " in the Temporal UI"));
        tr.appendChild(lc);
        rb.appendChild(tr);
      });
      $("runs-empty").hidden = runs.length > 0;
    });
  }

  $("jobs-refresh").addEventListener("click", load);
  $("jobs-action-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
  load();
})();
