// Live dashboard: /api/v2/dashboard every few seconds (roles, funnel, Moogsoft,
// breaker, shards, DLQs), plus the 24 h event chart and the SLO report. Every
// time shown is UTC and says so.
(function () {
  "use strict";
  var M = window.MUTT;
  if (!M) { return; } // app.js sent the browser to the login page
  var api = M.api, el = M.el, status = M.status, errText = M.errText;
  function $(id) { return document.getElementById(id); }
  var REFRESH_MS = 5000;
  var paused = false, timer = null;

  function utcTime(iso) { return String(iso).substr(11, 8) + " UTC"; }
  function utcStamp(iso) { return String(iso).substr(0, 10) + " " + utcTime(iso); }
  function fill(tbody, rows) {
    tbody.textContent = "";
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function row(cells, cls) {
    var tr = el("tr", null, cls || "");
    cells.forEach(function (c) {
      if (c instanceof Node) { var td = el("td"); td.appendChild(c); tr.appendChild(td); } else { tr.appendChild(el("td", c)); }
    });
    return tr;
  }

  // Breaker colours: closed green, half_open yellow, open red.
  var BREAKER_COLOR = { closed: "green", half_open: "yellow", open: "red" };
  function drawLive(d) {
    Array.prototype.forEach.call(document.querySelectorAll(".window"), function (w) { w.textContent = d.window_minutes; });
    fill($("roles-rows"), d.roles.map(function (r) {
      var badge = el("span", r.healthy ? "up" : "down", "badge " + (r.healthy ? "green" : "red"));
      var tr = row([r.role, badge, r.instances, r.instance_ids.join(", ")]);
      tr.dataset.role = r.role;
      return tr;
    }));
    var f = d.funnel;
    $("f-accepted").textContent = f.accepted;
    $("f-matched").textContent = f.matched;
    $("f-audited").textContent = f.audited;
    $("f-alerts").textContent = f.alerts;
    $("f-forwarded").textContent = f.forwarded;
    $("f-ignored").textContent = f.ignored;
    $("f-unhandled").textContent = f.unhandled;
    $("f-dead").textContent = f.dead_lettered;
    var m = d.moogsoft;
    $("moog-success").textContent = m.success_rate === null ? "no requests" : (100 * m.success_rate).toFixed(1) + " %";
    $("moog-latency").textContent = m.avg_latency_ms === null ? "–" : Math.round(m.avg_latency_ms) + " ms";
    $("moog-requests").textContent = m.requests + (m.failed ? " (" + m.failed + " failed)" : "");
    var b = d.circuit_breaker;
    $("breaker-state").textContent = "breaker " + b.state;
    $("breaker-state").className = "badge " + (BREAKER_COLOR[b.state] || "grey");
    $("breaker-state").dataset.state = b.state;
    $("breaker-failures").textContent = b.failures;
    $("breaker-trips").textContent = b.trips;
    var hist = $("breaker-history");
    hist.textContent = "";
    if (b.history.length === 0) { hist.appendChild(el("li", "no transitions recorded", "hint")); }
    b.history.forEach(function (h) { hist.appendChild(el("li", utcStamp(h.at) + " — " + h.state)); });
    fill($("source-rows"), Object.keys(d.accepted_by_source).sort().map(function (s) {
      var tr = row([s, d.accepted_by_source[s]]);
      tr.dataset.source = s;
      return tr;
    }));
    $("refused-rate").textContent = d.refusals.rate_limit;
    $("refused-backlog").textContent = d.refusals.backlog;
    fill($("shard-rows"), d.shards.map(function (s) {
      var tr = row([el("span", s.stream, "mono"), s.stage, s.group, s.length, s.lag === null ? "unknown" : s.lag, s.pending, s.consumers]);
      tr.dataset.stream = s.stream;
      return tr;
    }));
    fill($("dlq-rows"), d.dlq.map(function (q) {
      var tr = row([el("span", q.stream, "mono"), q.length], q.length > 0 ? "dlq-nonempty" : "");
      tr.dataset.stream = q.stream;
      return tr;
    }));
    $("updated-at").textContent = "Updated at " + utcTime(d.generated_at) + (paused ? " (auto-refresh paused)" : " — refreshes every " + REFRESH_MS / 1000 + " s");
    $("updated-at").dataset.generatedAt = d.generated_at;
  }

  // The SVG namespace is taken from a parsed element rather than spelled out,
  // so no asset contains a URL (the tests check for that).
  var SVG = (function () { var d = document.createElement("div"); d.innerHTML = "<svg></svg>"; return d.firstChild.namespaceURI; })();
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function drawChart(points) {
    var W = 720, H = 200, pad = 30, box = $("chart");
    box.textContent = "";
    var max = 1;
    points.forEach(function (p) { if (p.count > max) { max = p.count; } });
    var s = svg("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": "events per hour, last 24 hours, hours in UTC" });
    s.appendChild(svg("line", { x1: pad, y1: H - pad, x2: W, y2: H - pad, "class": "axis" }));
    var bw = (W - pad) / Math.max(points.length, 1);
    points.forEach(function (p, i) {
      var h = (H - 2 * pad) * p.count / max;
      var r = svg("rect", { x: pad + i * bw + 1, y: H - pad - h, width: Math.max(bw - 2, 1), height: h, "class": "bar" });
      var tip = svg("title", {});
      tip.textContent = String(p.hour).substr(11, 5) + " UTC: " + p.count;
      r.appendChild(tip);
      s.appendChild(r);
      if (i % 4 === 0) {
        var t = svg("text", { x: pad + i * bw, y: H - pad + 14, "class": "tick" });
        t.textContent = String(p.hour).substr(11, 5) + " UTC";
        s.appendChild(t);
      }
    });
    var m = svg("text", { x: 0, y: pad, "class": "tick" });
    m.textContent = String(max);
    s.appendChild(m);
    box.appendChild(s);
  }
  function loadMetrics() {
    api("GET", "/metrics").then(function (res) {
      if (!res.ok) { status(errText(res), true); return; }
      var m = res.body;
      $("m-current").textContent = m.current_rate;
      $("m-avg15").textContent = Number(m.avg_15m).toFixed(1);
      $("m-avg1h").textContent = Number(m.avg_1h).toFixed(1);
      $("m-24h").textContent = m.events_last_24h;
      drawChart(m.hourly_24h || []);
    });
  }
  function loadSLO() {
    api("GET", "/slo").then(function (res) {
      if (!res.ok) { status(errText(res), true); return; }
      var r = res.body;
      $("slo-overall").textContent = r.status;
      $("slo-overall").className = "badge " + (r.color || "grey");
      $("slo-message").textContent = r.message || ("report of " + (r.generated_at || "–"));
      fill($("slo-rows"), (r.slos || []).map(function (x) {
        var tr = el("tr");
        tr.appendChild(el("td", x.name || x.id || "slo"));
        tr.appendChild(el("td", x.status, "badge " + (x.color || "grey")));
        tr.appendChild(el("td", x.error_budget_remaining === undefined ? "–" : x.error_budget_remaining));
        return tr;
      }));
    });
  }

  function refresh() {
    var mine = M.latest("dashboard");
    return api("GET", "/dashboard").then(function (res) {
      if (!mine()) { return; }
      if (!res.ok) {
        $("updated-at").textContent = "Update failed: " + errText(res);
        return;
      }
      drawLive(res.body);
    });
  }
  function schedule() {
    clearTimeout(timer);
    if (paused) { return; }
    timer = setTimeout(function () {
      // The SLO report changes every 5 minutes: once a minute is enough.
      tick = (tick + 1) % 12;
      if (tick === 0) { loadSLO(); }
      loadMetrics();
      refresh().then(schedule, schedule);
    }, REFRESH_MS);
  }
  var tick = 0;
  $("refresh-toggle").addEventListener("click", function () {
    paused = !paused;
    this.textContent = paused ? "Resume auto-refresh" : "Pause auto-refresh";
    this.setAttribute("aria-pressed", paused ? "true" : "false");
    schedule();
  });
  $("refresh-now").addEventListener("click", function () { loadSLO(); loadMetrics(); refresh(); });
  // Hidden tabs do not poll; coming back refreshes at once.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); return; }
    refresh().then(schedule, schedule);
  });
  loadSLO();
  loadMetrics();
  refresh().then(schedule, schedule);
})();
