// Event browser: the event audit log (/api/v2/audit-logs) searched by the
// filters in the page's query string, so every view is a shareable URL.
// Pages by keyset (after=<cursor>), never by offset; ?event=<id> opens an
// event's details next to the list. Rows are links, so keyboard users reach
// and open every one.
(function () {
  "use strict";
  var M = window.MUTT;
  if (!M) { return; }
  var api = M.api, el = M.el, status = M.status, errText = M.errText;
  function $(id) { return document.getElementById(id); }
  var FILTERS = [["hostname", "e-hostname"], ["rule_id", "e-rule"], ["handling", "e-handling"], ["forwarded", "e-forwarded"],
    ["event_id", "e-event-id"], ["correlation_id", "e-correlation"], ["start_date", "e-start"], ["end_date", "e-end"]];
  var KEEP = ["page_size"]; // carried along with the filters, not shown in the form
  var PAGE_SIZE = "50"; // page_size in the URL overrides it (1-200)

  // params is the page's state: the filters, after (a cursor) and event (the open event).
  function params() { return new URLSearchParams(location.search); }
  function href(p) { var q = p.toString(); return "/ui/events" + (q ? "?" + q : ""); }
  function go(p, replace) {
    history[replace ? "replaceState" : "pushState"](null, "", href(p));
    render();
  }
  function filtersOnly(p) {
    var q = new URLSearchParams();
    FILTERS.forEach(function (f) { if (p.get(f[0])) { q.set(f[0], p.get(f[0])); } });
    KEEP.forEach(function (k) { if (p.get(k)) { q.set(k, p.get(k)); } });
    return q;
  }
  function withFilter(name, v) {
    var q = new URLSearchParams();
    q.set(name, v);
    return href(q);
  }
  function link(text, url, label, onclick) {
    var a = el("a", text);
    a.href = url;
    if (label) { a.setAttribute("aria-label", label); }
    a.addEventListener("click", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) { return; } // a new tab gets the URL
      ev.preventDefault();
      onclick();
    });
    return a;
  }
  function wentTo(e) {
    if (e.forwarded_to_moog) { return "Moogsoft"; }
    return String(e.handling_decision).toLowerCase() === "ignore" ? "audit only (ignored)" : "audit only";
  }

  function loadList(p) {
    var q = filtersOnly(p);
    if (p.get("after")) { q.set("after", p.get("after")); }
    if (!q.get("page_size")) { q.set("page_size", PAGE_SIZE); }
    var current = M.latest("events");
    $("events-table").setAttribute("aria-busy", "true");
    api("GET", "/audit-logs?" + q.toString()).then(function (res) {
      if (!current()) { return; }
      $("events-table").removeAttribute("aria-busy");
      var rows = $("event-rows");
      rows.textContent = "";
      if (!res.ok) { status(errText(res), true); $("events-count").textContent = "–"; return; }
      var b = res.body;
      b.logs.forEach(function (e) {
        var tr = el("tr");
        tr.dataset.eventId = e.event_id;
        var open = new URLSearchParams(location.search);
        open.set("event", e.event_id);
        var td = el("td");
        td.appendChild(link(e.event_timestamp.replace("T", " ").replace("Z", ""), href(open),
          "Open event " + e.event_id + " from " + e.hostname, function () { go(open); }));
        tr.appendChild(td);
        tr.appendChild(el("td", e.hostname, "mono"));
        td = el("td");
        if (e.matched_rule_id !== null) {
          td.appendChild(link("rule " + e.matched_rule_id, withFilter("rule_id", e.matched_rule_id),
            "Events matched by rule " + e.matched_rule_id, function () { go(new URLSearchParams("rule_id=" + e.matched_rule_id)); }));
        }
        tr.appendChild(td);
        tr.appendChild(el("td", e.handling_decision));
        tr.appendChild(el("td", e.team_assignment || ""));
        tr.appendChild(el("td", e.environment || ""));
        tr.appendChild(el("td", wentTo(e)));
        rows.appendChild(tr);
      });
      var n = b.pagination ? b.pagination.total : b.logs.length;
      var shown = b.pagination && b.pagination.total > b.logs.length ? b.logs.length + " of " : "";
      $("events-count").textContent = shown + n + (n === 1 ? " event" : " events") +
        (b.window_start ? " since " + b.window_start.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "");
      var older = filtersOnly(p);
      if (b.next_cursor) {
        older.set("after", b.next_cursor);
        $("events-older").href = href(older);
        $("events-older").hidden = false;
      } else {
        $("events-older").hidden = true;
      }
      $("events-newest").href = href(filtersOnly(p));
    });
  }

  function field(dl, name, value) {
    dl.appendChild(el("dt", name));
    var dd = el("dd");
    if (value instanceof Node) { dd.appendChild(value); } else { dd.textContent = value === null || value === undefined || value === "" ? "–" : String(value); }
    dl.appendChild(dd);
  }
  function loadDetail(id) {
    var current = M.latest("event-detail");
    // An event id covers all time, the archive included.
    api("GET", "/audit-logs?include_archive=true&event_id=" + encodeURIComponent(id)).then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      var box = $("event-detail"), dl = $("event-fields");
      box.hidden = false;
      dl.textContent = "";
      var e = res.body.logs[0];
      if (!e) {
        $("event-title").textContent = "Event " + id + " not found";
        $("event-raw").textContent = "";
        box.focus();
        return;
      }
      $("event-title").textContent = "Event from " + e.hostname;
      field(dl, "Event id", el("span", e.event_id, "mono"));
      field(dl, "Event time (UTC)", e.event_timestamp);
      field(dl, "Received (UTC)", e.received_at);
      field(dl, "Host", link(e.hostname, withFilter("hostname", e.hostname), "Events from host " + e.hostname,
        function () { go(new URLSearchParams("hostname=" + encodeURIComponent(e.hostname))); }));
      field(dl, "Rule that matched", e.matched_rule_id === null ? "none" :
        link("rule " + e.matched_rule_id, withFilter("rule_id", e.matched_rule_id), "Events matched by rule " + e.matched_rule_id,
          function () { go(new URLSearchParams("rule_id=" + e.matched_rule_id)); }));
      field(dl, "Handling", e.handling_decision);
      field(dl, "Team", e.team_assignment);
      field(dl, "Environment", e.environment);
      field(dl, "Where it went", wentTo(e) + (e.archived ? " (now in the archive)" : ""));
      field(dl, "Correlation id", e.correlation_id ? link(e.correlation_id, withFilter("correlation_id", e.correlation_id),
        "Events with correlation id " + e.correlation_id,
        function () { go(new URLSearchParams("correlation_id=" + encodeURIComponent(e.correlation_id))); }) : null);
      var raw = e.raw_message || "";
      try { raw = JSON.stringify(JSON.parse(raw), null, 2); } catch (err) { /* shown as stored */ }
      $("event-raw").textContent = raw;
      box.focus();
    });
  }

  function render() {
    var p = params();
    FILTERS.forEach(function (f) { $(f[1]).value = p.get(f[0]) || ""; });
    status("");
    loadList(p);
    var closed = filtersOnly(p);
    if (p.get("after")) { closed.set("after", p.get("after")); }
    $("event-close").href = href(closed);
    if (p.get("event")) { loadDetail(p.get("event")); } else { $("event-detail").hidden = true; }
  }

  $("event-filters").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = new URLSearchParams();
    FILTERS.forEach(function (f) { var v = $(f[1]).value.trim(); if (v !== "") { q.set(f[0], v); } });
    KEEP.forEach(function (k) { if (params().get(k)) { q.set(k, params().get(k)); } });
    go(q);
  });
  [["event-clear", function () { return new URLSearchParams(); }],
    ["events-newest", function () { return filtersOnly(params()); }],
    ["events-older", function () { return new URLSearchParams($("events-older").search); }],
    ["event-close", function () { return new URLSearchParams($("event-close").search); }]].forEach(function (x) {
    $(x[0]).addEventListener("click", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) { return; }
      ev.preventDefault();
      go(x[1]());
    });
  });
  window.addEventListener("popstate", render);
  render();
})();
