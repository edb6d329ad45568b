// Ops jobs page: MUTT's Temporal schedules with their last and next runs and
// the recent runs' outcomes (workflow results and memo), linked into the
// Temporal UI.
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

  // summary condenses a run's result: its numbers, and per stream (DLQ runs)
  // the non-zero counts; the memo's outcome when the run set one.
  function summary(r) {
    var parts = [];
    var res = r.result;
    if (r.memo && r.memo.outcome) { parts.push(String(r.memo.outcome)); }
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
    if (r.failure) { parts.push(r.failure); }
    return parts.join(" · ") || "—";
  }

  function load() {
    var fresh = M.latest("jobs");
    $("jobs-table").setAttribute("aria-busy", "true");
    return api("GET", "/jobs").then(function (res) {
      if (!fresh()) { return; }
      $("jobs-table").removeAttribute("aria-busy");
      if (!res.ok) { M.status(M.errText(res), true); return; }
      var t = res.body.temporal;
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
        tr.appendChild(el("td", (s.next_runs || []).length ? time(s.next_runs[0]) : "—"));
        var uc = el("td");
        uc.appendChild(link("schedule", s.temporal_url, "Schedule " + s.id + " in the Temporal UI"));
        uc.appendChild(document.createTextNode(" · "));
        uc.appendChild(link("all runs", s.runs_url, "Runs of " + s.id + " in the Temporal UI"));
        tr.appendChild(uc);
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
        tr.appendChild(el("td", summary(r), "summary"));
        var lc = el("td");
        lc.appendChild(link("open run", r.temporal_url, "Run " + r.workflow_id + " in the Temporal UI"));
        tr.appendChild(lc);
        rb.appendChild(tr);
      });
      $("runs-empty").hidden = runs.length > 0;
    });
  }

  $("jobs-refresh").addEventListener("click", load);
  load();
})();
