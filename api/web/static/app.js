// MUTT admin UI: plain JS, no framework. The API key lives in sessionStorage
// (gone when the tab closes) and travels only in the X-API-KEY header.
(function () {
  "use strict";
  var KEY = "mutt.apiKey";
  var page = document.body.dataset.page;

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function status(msg, isError) {
    var s = $("status");
    if (!s) { return; }
    s.textContent = msg || "";
    s.className = isError ? "status error" : "status";
  }

  // api calls /api/v2 with the key (and any extra headers); it resolves to
  // {ok, status, body}. A 401 sends the user back to the login page.
  function api(method, path, body, headers) {
    var opts = { method: method, headers: { "X-API-KEY": sessionStorage.getItem(KEY) || "" } };
    Object.keys(headers || {}).forEach(function (h) { opts.headers[h] = headers[h]; });
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch("/api/v2" + path, opts).then(function (r) {
      return r.text().then(function (t) {
        var b = null;
        try { b = t ? JSON.parse(t) : null; } catch (e) { b = { message: t }; }
        if (r.status === 401 && page !== "login") {
          sessionStorage.removeItem(KEY);
          location.href = "/ui/login";
        }
        return { ok: r.ok, status: r.status, body: b };
      });
    });
  }
  // Each action (a button or a form's submit) starts with no message on
  // screen: what the status line and the forms' messages say is about the
  // previous action, and left next to the new one's answer it misleads.
  // Capture runs before the action's own handler, which may set a message.
  function clearMessages() {
    status("");
    Array.prototype.forEach.call(document.querySelectorAll("p.error, ul.warnings"), function (e) { e.textContent = ""; });
  }
  document.addEventListener("submit", clearMessages, true);
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest("button")) { clearMessages(); }
  }, true);

  // askReason asks for the reason of a one-click change (the API audits and
  // requires one); it doubles as the confirmation. It returns the trimmed
  // reason, or null when the user cancels or gives only blanks (then nothing
  // is sent and the status line says why).
  function askReason(question) {
    var r = window.prompt(question + " Reason for the change (required):", "");
    if (r === null) { return null; }
    r = r.trim();
    if (r === "") {
      status("Nothing was changed: a reason is required.", true);
      return null;
    }
    return r;
  }
  function errText(res) {
    return (res.body && res.body.message) ? res.body.message : ("request failed with status " + res.status);
  }
  // latest numbers the loads of one list; a load draws its answer only while
  // it is still the newest, so a slow earlier answer (the unfiltered audit
  // list, the list from before a change) never overwrites a newer one.
  var loads = {};
  function latest(list) {
    var n = (loads[list] || 0) + 1;
    loads[list] = n;
    return function () { return loads[list] === n; };
  }

  // ---- shared: shareable URLs, buttons, the key's role ----
  // query reads the page's filters from the URL; setQuery writes them back
  // (replaceState: a filter change is no new history entry), so a filtered
  // view is a link to share.
  function query() { return new URLSearchParams(location.search); }
  function setQuery(params) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== undefined && v !== null && v !== "" && v !== false) { q.set(k, v === true ? "1" : String(v)); }
    });
    var s = q.toString();
    history.replaceState(null, "", location.pathname + (s ? "?" + s : ""));
  }
  // button makes a button; label names what it acts on for screen readers
  // ("Delete rule 12"), the visible text stays short. Write controls carry
  // the class "write": hidden for a read-only key.
  function button(text, cls, fn, label) {
    var b = el("button", text, cls);
    b.type = "button";
    if (label) { b.setAttribute("aria-label", label); }
    b.addEventListener("click", fn);
    return b;
  }
  function cell(text, col, cls) {
    var td = el("td", text, cls);
    if (col) { td.dataset.col = col; }
    return td;
  }

  var logout = $("logout");
  if (logout) {
    logout.addEventListener("click", function () { sessionStorage.removeItem(KEY); location.href = "/ui/login"; });
  }
  if (page !== "login" && page !== "notfound" && !sessionStorage.getItem(KEY)) {
    location.href = "/ui/login";
    return;
  }
  // The nav appears once there is a key (never on the login page), with the
  // current page marked; the key's role decides whether write controls show
  // (body[data-role]; the CSS hides .write until the role is known).
  function showChrome(who) {
    var nav = $("nav");
    if (!nav) { return; }
    nav.hidden = false;
    $("logout").hidden = false;
    Array.prototype.forEach.call(nav.querySelectorAll("a"), function (a) {
      if (a.pathname === location.pathname) { a.setAttribute("aria-current", "page"); }
    });
    document.body.dataset.role = who.can_write ? "admin" : "readonly";
    $("readonly-note").hidden = who.can_write;
    $("whoami").hidden = false;
    $("whoami").textContent = (who.can_write ? "admin" : "read-only") + " · " + who.key_name;
  }
  if (page !== "login" && sessionStorage.getItem(KEY)) {
    api("GET", "/whoami").then(function (res) { if (res.ok) { showChrome(res.body); } });
  }

  // ---- login ----
  function initLogin() {
    $("login-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var key = $("api-key").value.trim();
      // /version answers without a key too: a blank key is no login.
      if (key === "") { $("login-error").textContent = "Invalid API key"; return; }
      sessionStorage.setItem(KEY, key);
      api("GET", "/version").then(function (res) {
        if (res.ok) { location.href = "/ui/"; return; }
        sessionStorage.removeItem(KEY);
        $("login-error").textContent = res.status === 401 ? "Invalid API key" : errText(res);
      });
    });
  }

  // ---- rules ----
  var rules = {}, ruleList = [], findings = {};
  var facilities = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "cron2", "local0", "local1", "local2", "local3", "local4", "local5",
    "local6", "local7"];
  var severities = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
  function facilityText(f) {
    if (f === null || f === undefined) { return ""; }
    return (facilities[f] || "?") + " (" + f + ")";
  }
  function severityText(s) {
    if (s === null || s === undefined) { return ""; }
    return (severities[s] || "?") + " (" + s + ")";
  }
  function ruleBody() {
    function opt(id) { var v = $(id).value.trim(); return v === "" ? null : v; }
    var sev = $("rule-syslog-severity").value.trim();
    var fac = $("rule-facility").value;
    var b = {
      match_type: $("rule-match-type").value,
      match_string: opt("rule-match-string"),
      trap_oid: opt("rule-trap-oid"),
      syslog_severity: sev === "" ? null : Number(sev),
      app_name: opt("rule-app-name"),
      facility: fac === "" ? null : Number(fac),
      priority: Number($("rule-priority").value || "100"),
      prod_handling: $("rule-prod").value,
      dev_handling: $("rule-dev").value,
      team_assignment: $("rule-team").value.trim(),
      is_active: $("rule-active").checked,
      reason: $("rule-reason").value.trim()
    };
    var v = $("rule-version").value;
    if (v !== "") { b.version = Number(v); }
    return b;
  }
  function resetRuleForm() {
    $("rule-form").reset();
    $("rule-id").value = "";
    $("rule-version").value = "";
    $("rule-form-title").textContent = "New rule";
    $("rule-save").textContent = "Create";
    $("rule-save").removeAttribute("aria-label");
    $("rule-error").textContent = "";
    $("rule-warnings").textContent = "";
    $("rule-test-result").hidden = true;
  }
  // setHandling selects a stored handling word. The API stores the four
  // words in one spelling ("Page_and_ticket") and compares them in any case;
  // a word that is none of them is shown as it is, to be replaced by one of
  // the four on save.
  function setHandling(id, v) {
    var s = $(id), w = String(v || "");
    Array.prototype.forEach.call(s.querySelectorAll("option.legacy"), function (o) { o.remove(); });
    var known = Array.prototype.filter.call(s.options, function (o) { return o.value.toLowerCase() === w.trim().toLowerCase(); });
    if (known.length) {
      w = known[0].value;
    } else {
      var o = el("option", v + " (not a handling: pick one)", "legacy");
      o.value = v;
      s.appendChild(o);
      w = v;
    }
    s.value = w;
  }
  function editRule(r) {
    resetRuleForm();
    $("rule-id").value = r.id;
    $("rule-version").value = r.version;
    $("rule-match-type").value = r.match_type;
    $("rule-match-string").value = r.match_string || "";
    $("rule-trap-oid").value = r.trap_oid || "";
    $("rule-syslog-severity").value = r.syslog_severity === null ? "" : r.syslog_severity;
    $("rule-app-name").value = r.app_name || "";
    $("rule-facility").value = r.facility === null || r.facility === undefined ? "" : String(r.facility);
    $("rule-priority").value = r.priority;
    setHandling("rule-prod", r.prod_handling);
    setHandling("rule-dev", r.dev_handling);
    $("rule-team").value = r.team_assignment;
    $("rule-active").checked = r.is_active;
    $("rule-form-title").textContent = "Edit rule " + r.id + " (version " + r.version + ")";
    $("rule-save").textContent = "Save";
    $("rule-save").setAttribute("aria-label", "Save rule " + r.id);
    $("rule-form").scrollIntoView({ block: "nearest" });
    $("rule-match-type").focus();
  }
  // The list's filters and order live in the URL (q, active, handling, type,
  // team, warn, sort, dir).
  var RULE_FILTERS = [["q", "rf-q"], ["active", "rf-active"], ["handling", "rf-handling"], ["type", "rf-type"], ["team", "rf-team"]];
  var ruleSort = { key: "priority", dir: 1 };
  var SORT_VALUE = {
    id: function (r) { return r.id; },
    match: function (r) { return (r.match_string || r.trap_oid || "").toLowerCase(); },
    severity: function (r) { return r.syslog_severity === null ? 99 : r.syslog_severity; },
    priority: function (r) { return r.priority; },
    team: function (r) { return r.team_assignment.toLowerCase(); },
    updated: function (r) { return r.updated_at; }
  };
  function ruleFilterState() {
    var st = {};
    RULE_FILTERS.forEach(function (f) { st[f[0]] = $(f[1]).value.trim(); });
    st.warn = $("rf-warn").checked;
    if (ruleSort.key !== "priority" || ruleSort.dir !== 1) { st.sort = ruleSort.key; st.dir = ruleSort.dir < 0 ? "desc" : ""; }
    return st;
  }
  function ruleMatches(r, st) {
    if (st.active === "yes" && !r.is_active) { return false; }
    if (st.active === "no" && r.is_active) { return false; }
    if (st.handling && r.prod_handling.toLowerCase() !== st.handling.toLowerCase() && r.dev_handling.toLowerCase() !== st.handling.toLowerCase()) { return false; }
    if (st.type && r.match_type !== st.type) { return false; }
    if (st.team && r.team_assignment !== st.team) { return false; }
    if (st.warn && !findings[r.id]) { return false; }
    if (st.q) {
      var hay = [r.id, r.match_string, r.trap_oid, r.app_name, r.team_assignment, r.prod_handling, r.dev_handling]
        .join(" ").toLowerCase();
      if (hay.indexOf(st.q.toLowerCase()) < 0) { return false; }
    }
    return true;
  }
  function findingText(f) {
    if (f.kind === "duplicate") { return "duplicate of #" + f.by_rule_id; }
    if (f.kind === "shadowed") { return "shadowed by #" + f.by_rule_id; }
    return "left out: invalid";
  }
  function toggleRule(r) {
    var reason = askReason((r.is_active ? "Disable" : "Enable") + " rule " + r.id + "?");
    if (reason === null) { return; }
    api("PATCH", "/rules/" + r.id, { is_active: !r.is_active, version: r.version, reason: reason })
      .then(function (x) { status(x.ok ? "" : errText(x), !x.ok); loadRules(); });
  }
  function deleteRule(r) {
    var reason = askReason("Delete rule " + r.id + "?");
    if (reason === null) { return; }
    api("DELETE", "/rules/" + r.id, { reason: reason })
      .then(function (x) { status(x.ok ? "Rule " + r.id + " deleted" : errText(x), !x.ok); loadRules(); });
  }
  function drawRules() {
    var st = ruleFilterState();
    setQuery(st);
    var get = SORT_VALUE[ruleSort.key] || SORT_VALUE.priority;
    var list = ruleList.filter(function (r) { return ruleMatches(r, st); }).sort(function (a, b) {
      var x = get(a), y = get(b);
      if (x < y) { return -ruleSort.dir; }
      if (x > y) { return ruleSort.dir; }
      return a.id - b.id;
    });
    Array.prototype.forEach.call(document.querySelectorAll("#rules-table th[data-sort]"), function (th) {
      if (th.dataset.sort === ruleSort.key) {
        th.setAttribute("aria-sort", ruleSort.dir > 0 ? "ascending" : "descending");
      } else {
        th.removeAttribute("aria-sort");
      }
    });
    var rows = $("rules-rows");
    rows.textContent = "";
    $("rules-total").textContent = list.length === ruleList.length ? String(ruleList.length) : list.length + " of " + ruleList.length;
    list.forEach(function (r) {
      var tr = el("tr", null, r.is_active ? "" : "inactive");
      tr.dataset.id = r.id;
      [["id", r.id], ["type", r.match_type], ["match", r.match_string], ["oid", r.trap_oid], ["app", r.app_name],
        ["facility", facilityText(r.facility)], ["severity", severityText(r.syslog_severity)], ["priority", r.priority],
        ["prod", r.prod_handling], ["dev", r.dev_handling], ["team", r.team_assignment], ["active", r.is_active ? "yes" : "no"],
        ["version", r.version]].forEach(function (c) { tr.appendChild(cell(c[1], c[0])); });
      var f = findings[r.id], w = cell(f ? findingText(f) : "", "warning", f ? "finding" : "");
      if (f) { w.title = f.message; }
      tr.appendChild(w);
      var td = cell(null, "actions", "actions");
      td.appendChild(button("Edit", "edit write", function () { editRule(r); }, "Edit rule " + r.id));
      td.appendChild(button(r.is_active ? "Disable" : "Enable", "toggle write", function () { toggleRule(r); },
        (r.is_active ? "Disable" : "Enable") + " rule " + r.id));
      td.appendChild(button("Delete", "delete danger write", function () { deleteRule(r); }, "Delete rule " + r.id));
      tr.appendChild(td);
      rows.appendChild(tr);
    });
    $("rules-empty").hidden = list.length > 0;
  }
  function loadRules() {
    var current = latest("rules");
    return Promise.all([api("GET", "/rules"), api("GET", "/rules/analysis")]).then(function (res) {
      if (!current()) { return; }
      if (!res[0].ok) { status(errText(res[0]), true); return; }
      rules = {};
      ruleList = res[0].body.rules;
      var teamsSeen = {};
      ruleList.forEach(function (r) { rules[r.id] = r; teamsSeen[r.team_assignment] = true; });
      var sel = $("rf-team"), keep = sel.value || query().get("team") || "";
      sel.textContent = "";
      sel.appendChild(el("option", "any team")).value = "";
      Object.keys(teamsSeen).sort().forEach(function (t) { sel.appendChild(el("option", t)).value = t; });
      sel.value = keep;
      findings = {};
      var list = $("rules-findings");
      list.textContent = "";
      if (res[1].ok) {
        res[1].body.findings.forEach(function (f) {
          if (!findings[f.rule_id]) { findings[f.rule_id] = f; }
          list.appendChild(el("li", f.message));
        });
      }
      $("rules-findings-box").hidden = list.children.length === 0;
      drawRules();
    });
  }
  // testRule runs the form's rule, unsaved, through the rule engine against
  // the most recent audited events.
  function testRule() {
    var body = ruleBody();
    delete body.reason;
    delete body.version;
    body.events = Number($("rule-test-events").value || "200");
    if ($("rule-id").value !== "") { body.replaces = Number($("rule-id").value); }
    var out = $("rule-test-result"), rows = $("rule-test-rows");
    api("POST", "/rules/test", body).then(function (res) {
      if (!res.ok) { $("rule-error").textContent = errText(res); out.hidden = true; return; }
      var t = res.body;
      out.hidden = false;
      out.scrollIntoView({ block: "nearest" });
      $("rule-test-summary").textContent = "Of the last " + t.evaluated + " events, " + t.matched + " match this rule; it would decide " +
        t.decides + (t.matched > t.decides ? " (an earlier rule takes the others)" : "") + ".";
      rows.textContent = "";
      t.matches.forEach(function (m) {
        var tr = el("tr", null, m.draft_decides ? "" : "taken");
        tr.appendChild(cell(m.event_timestamp, "time"));
        tr.appendChild(cell(m.hostname, "host", "mono"));
        tr.appendChild(cell(m.message, "message"));
        tr.appendChild(cell(m.environment + ": " + m.handling, "handling"));
        tr.appendChild(cell(m.draft_decides ? "this rule" : "rule " + m.decided_by, "decided"));
        rows.appendChild(tr);
      });
    });
  }
  function initRules() {
    var q = query();
    RULE_FILTERS.forEach(function (f) { $(f[1]).value = q.get(f[0]) || ""; });
    $("rf-warn").checked = q.get("warn") === "1";
    if (SORT_VALUE[q.get("sort")]) { ruleSort.key = q.get("sort"); }
    ruleSort.dir = q.get("dir") === "desc" ? -1 : 1;
    $("rules-filters").addEventListener("submit", function (ev) { ev.preventDefault(); drawRules(); });
    $("rules-filters").addEventListener("input", drawRules);
    $("rules-filters").addEventListener("change", drawRules);
    Array.prototype.forEach.call(document.querySelectorAll("#rules-table th[data-sort] button"), function (b) {
      b.addEventListener("click", function () {
        var key = b.parentNode.dataset.sort;
        ruleSort.dir = ruleSort.key === key ? -ruleSort.dir : 1;
        ruleSort.key = key;
        drawRules();
      });
    });
    $("rule-cancel").addEventListener("click", resetRuleForm);
    $("rule-test").addEventListener("click", testRule);
    $("rule-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var id = $("rule-id").value;
      var req = id === "" ? api("POST", "/rules", ruleBody()) : api("PUT", "/rules/" + id, ruleBody());
      req.then(function (res) {
        if (!res.ok) {
          // The server's validation message, shown next to the form.
          $("rule-error").textContent = errText(res);
          return;
        }
        var warns = (res.body && res.body.warnings) || [];
        resetRuleForm();
        warns.forEach(function (w) { $("rule-warnings").appendChild(el("li", w)); });
        status((id === "" ? "Created rule " : "Saved rule ") + res.body.id);
        loadRules();
      });
    });
    loadRules();
  }

  // ---- audit ----
  var auditPage = 1, auditPages = 1;
  var AUDIT_FILTERS = [["changed_by", "f-changed-by"], ["table_name", "f-table"], ["record_id", "f-record"],
    ["operation", "f-operation"], ["start_date", "f-start"], ["end_date", "f-end"]];
  function fmt(v) {
    if (v === undefined) { return ""; }
    return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  }
  function auditState(open) {
    var st = {};
    AUDIT_FILTERS.forEach(function (p) { st[p[0]] = $(p[1]).value.trim(); });
    if (auditPage > 1) { st.page = auditPage; }
    if (open) { st.id = open; }
    return st;
  }
  var openChange = "";
  // showDiff opens a change; focus moves to its title, so a keyboard user
  // lands on what they opened.
  function showDiff(id, focus) {
    openChange = String(id);
    setQuery(auditState(openChange));
    Array.prototype.forEach.call(document.querySelectorAll("#audit-rows tr"), function (tr) {
      if (tr.dataset.id === openChange) { tr.setAttribute("aria-selected", "true"); } else { tr.removeAttribute("aria-selected"); }
    });
    api("GET", "/config-audit/" + id).then(function (res) {
      if (!res.ok) { status(errText(res), true); return; }
      var d = res.body, rows = $("diff-rows");
      $("audit-detail").hidden = false;
      $("diff-title").textContent = d.operation + " " + d.table_name + " #" + d.record_id;
      $("diff-meta").textContent = "by " + d.changed_by + " at " + d.changed_at + (d.reason ? " — " + d.reason : "");
      rows.textContent = "";
      var o = d.old_values || {}, n = d.new_values || {};
      if (typeof o !== "object" || typeof n !== "object") { o = { value: d.old_values }; n = { value: d.new_values }; }
      var keys = Object.keys(o).concat(Object.keys(n).filter(function (k) { return !(k in o); })).sort();
      keys.forEach(function (k) {
        var a = fmt(o[k]), b = fmt(n[k]);
        var tr = el("tr", null, a === b ? "same" : "changed");
        tr.dataset.field = k;
        tr.appendChild(el("th", k));
        tr.appendChild(el("td", a, "old"));
        tr.appendChild(el("td", b, "new"));
        rows.appendChild(tr);
      });
      if (focus) { $("diff-title").focus(); }
    });
  }
  function loadAudit() {
    var q = new URLSearchParams();
    var st = auditState(openChange);
    setQuery(st);
    AUDIT_FILTERS.forEach(function (p) { if (st[p[0]]) { q.set(p[0], st[p[0]]); } });
    q.set("page", auditPage);
    q.set("page_size", 20);
    var current = latest("audit");
    // Busy until this answer is drawn: the rows shown meanwhile are the old filter's.
    $("audit-table").setAttribute("aria-busy", "true");
    api("GET", "/config-audit?" + q.toString()).then(function (res) {
      if (!current()) { return; }
      $("audit-table").removeAttribute("aria-busy");
      if (!res.ok) { status(errText(res), true); return; }
      status("");
      var rows = $("audit-rows");
      rows.textContent = "";
      res.body.changes.forEach(function (c) {
        var tr = el("tr", null, "clickable");
        tr.dataset.id = c.id;
        if (String(c.id) === openChange) { tr.setAttribute("aria-selected", "true"); }
        // The first cell's button opens the change from the keyboard (Tab,
        // Enter); a click anywhere on the row does the same.
        var first = el("td");
        first.appendChild(button(String(c.id), "link open", function (ev) { ev.stopPropagation(); showDiff(c.id, true); },
          "Show change " + c.id + ": " + c.operation + " " + c.table_name + " " + c.record_id));
        tr.appendChild(first);
        [c.changed_at, c.changed_by, c.operation, c.table_name, c.record_id, c.reason].forEach(function (v) {
          tr.appendChild(el("td", v));
        });
        tr.addEventListener("click", function () { showDiff(c.id, false); });
        rows.appendChild(tr);
      });
      var p = res.body.pagination;
      auditPages = Math.max(p.total_pages, 1);
      $("audit-page").textContent = "page " + p.page + " of " + auditPages + " (" + p.total + " changes)";
      $("audit-prev").disabled = auditPage <= 1;
      $("audit-next").disabled = auditPage >= auditPages;
    });
  }
  function initAudit() {
    var q = query();
    AUDIT_FILTERS.forEach(function (p) { $(p[1]).value = q.get(p[0]) || ""; });
    auditPage = Math.max(1, parseInt(q.get("page") || "1", 10) || 1);
    $("audit-filters").addEventListener("submit", function (ev) { ev.preventDefault(); auditPage = 1; loadAudit(); });
    $("audit-prev").addEventListener("click", function () { if (auditPage > 1) { auditPage--; loadAudit(); } });
    $("audit-next").addEventListener("click", function () { if (auditPage < auditPages) { auditPage++; loadAudit(); } });
    loadAudit();
    if (/^[0-9]+$/.test(q.get("id") || "")) { showDiff(q.get("id"), false); }
  }

  // ---- dynamic config ----
  // A key is "changed" when Redis holds a value other than its default (or
  // one that does not parse: source "invalid").
  function configChanged(k) {
    return k.source === "invalid" || (k.source !== "default" && JSON.stringify(k.value) !== JSON.stringify(k.default));
  }
  var configItems = [];
  function configState() {
    var st = { q: $("cf-q").value.trim(), changed: $("cf-changed").checked };
    if (!$("config-history").hidden) { st.history = $("history-key").textContent; }
    return st;
  }
  function editConfig(k) {
    $("config-key").value = k.key;
    $("config-key-label").textContent = k.key;
    $("config-value").value = k.raw_value;
    $("config-default").textContent = fmt(k.default);
    $("config-error").textContent = "";
    $("config-form").hidden = false;
    // The form is beside (or, on a phone, below) a long table: bring it into
    // view and put the cursor in it.
    $("config-form").scrollIntoView({ block: "nearest" });
    $("config-value").focus();
    $("config-value").select();
  }
  function showHistory(key) {
    var box = $("config-history"), rows = $("history-rows");
    $("history-key").textContent = key;
    box.hidden = false;
    setQuery(configState());
    rows.textContent = "";
    var current = latest("history");
    api("GET", "/config/history?limit=20&key=" + encodeURIComponent(key)).then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      res.body.history.forEach(function (h) {
        var tr = el("tr");
        tr.appendChild(cell(h.changed_at, "time"));
        tr.appendChild(cell(h.changed_by, "by", "mono"));
        tr.appendChild(cell(h.old_values ? fmt(h.old_values.value) : "", "old", "mono"));
        tr.appendChild(cell(h.new_values ? fmt(h.new_values.value) : "(removed: default)", "new", "mono"));
        tr.appendChild(cell(h.reason || "", "reason"));
        rows.appendChild(tr);
      });
      $("history-empty").hidden = res.body.history.length > 0;
      box.scrollIntoView({ block: "nearest" });
      $("history-title").focus();
    });
  }
  function drawConfig() {
    var st = configState();
    setQuery(st);
    var rows = $("config-rows"), shown = 0;
    rows.textContent = "";
    configItems.forEach(function (k) {
      var changed = configChanged(k);
      if (st.changed && !changed) { return; }
      if (st.q && (k.key + " " + k.description).toLowerCase().indexOf(st.q.toLowerCase()) < 0) { return; }
      shown++;
      var tr = el("tr", null, changed ? "changed" : "");
      tr.dataset.key = k.key;
      var kc = cell(k.key, "key", "mono");
      if (changed) { kc.appendChild(el("span", "changed", "badge yellow")); }
      tr.appendChild(kc);
      tr.appendChild(cell(k.raw_value, "value", "value"));
      tr.appendChild(cell(fmt(k.default), "default", "default"));
      tr.appendChild(cell(k.type + (k.min !== undefined ? " " + k.min + "–" + k.max : "") +
        (k.enum ? " [" + k.enum.join(", ") + "]" : ""), "type"));
      tr.appendChild(cell(k.description, "meaning", "hint"));
      var td = cell(null, "actions", "actions");
      td.appendChild(button("Edit", "edit write", function () { editConfig(k); }, "Edit " + k.key));
      td.appendChild(button("History", "history", function () { showHistory(k.key); }, "History of " + k.key));
      tr.appendChild(td);
      rows.appendChild(tr);
    });
    $("config-count").textContent = shown === configItems.length ? String(shown) : shown + " of " + configItems.length;
  }
  function loadConfig() {
    var current = latest("config");
    api("GET", "/config").then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      configItems = res.body.config;
      drawConfig();
    });
  }
  function initConfig() {
    var q = query();
    $("cf-q").value = q.get("q") || "";
    $("cf-changed").checked = q.get("changed") === "1";
    $("config-filters").addEventListener("submit", function (ev) { ev.preventDefault(); drawConfig(); });
    $("config-filters").addEventListener("input", drawConfig);
    $("config-cancel").addEventListener("click", function () { $("config-form").hidden = true; });
    $("config-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var key = $("config-key").value;
      // Sent as a string: the server parses it by the key's type and range.
      api("PUT", "/config/" + encodeURIComponent(key), { value: $("config-value").value.trim(), reason: $("config-reason").value.trim() })
        .then(function (res) {
          if (!res.ok) { $("config-error").textContent = errText(res); return; }
          $("config-form").hidden = true;
          $("config-form").reset();
          status("Saved " + key);
          loadConfig();
          if (!$("config-history").hidden && $("history-key").textContent === key) { showHistory(key); }
        });
    });
    loadConfig();
    if (q.get("history")) { showHistory(q.get("history")); }
  }

  // ---- dev hosts and teams ----
  var teams = {};
  function loadHosts() {
    var current = latest("hosts");
    return api("GET", "/dev-hosts").then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      var rows = $("hosts-rows");
      rows.textContent = "";
      $("hosts-total").textContent = res.body.total;
      var f = hostFilter();
      res.body.hosts.forEach(function (h) {
        if (f && h.hostname.indexOf(f) < 0) { return; }
        var tr = el("tr");
        tr.dataset.host = h.hostname;
        tr.appendChild(el("td", h.hostname, "mono"));
        tr.appendChild(el("td", h.created_at));
        var td = el("td", null, "actions");
        td.appendChild(button("Delete", "delete danger write", function () {
          var reason = askReason("Remove dev host " + h.hostname + "?");
          if (reason === null) { return; }
          api("DELETE", "/dev-hosts/" + encodeURIComponent(h.hostname), { reason: reason })
            .then(function (x) { status(x.ok ? "Dev host " + h.hostname + " removed" : errText(x), !x.ok); loadHosts(); });
        }, "Remove dev host " + h.hostname));
        tr.appendChild(td);
        rows.appendChild(tr);
      });
    });
  }
  // editTeam fills the form with a mapping. The hostname is locked while
  // editing: the API cannot rename a mapping, and a changed hostname would
  // silently add a second mapping instead.
  function editTeam(m) {
    $("team-error").textContent = "";
    $("team-host").value = m.hostname;
    $("team-host").readOnly = true;
    $("team-name").value = m.team_assignment;
    $("team-save").textContent = "Save mapping";
    $("team-form").scrollIntoView({ block: "nearest" });
    $("team-name").focus();
  }
  function resetTeamForm() {
    $("team-form").reset();
    $("team-host").readOnly = false;
    $("team-save").textContent = "Add / update mapping";
    $("team-error").textContent = "";
  }
  function loadTeams() {
    var current = latest("teams");
    return api("GET", "/teams").then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      var rows = $("teams-rows");
      rows.textContent = "";
      teams = {};
      $("teams-total").textContent = res.body.total;
      var f = hostFilter();
      res.body.teams.forEach(function (m) {
        teams[m.hostname] = m;
        if (f && (m.hostname + " " + m.team_assignment.toLowerCase()).indexOf(f) < 0) { return; }
        var tr = el("tr");
        tr.dataset.host = m.hostname;
        tr.appendChild(el("td", m.hostname, "mono"));
        tr.appendChild(el("td", m.team_assignment));
        tr.appendChild(el("td", m.updated_at));
        var td = el("td", null, "actions");
        td.appendChild(button("Edit", "edit write", function () { editTeam(m); }, "Edit the team mapping of " + m.hostname));
        td.appendChild(button("Delete", "delete danger write", function () {
          var reason = askReason("Remove the team mapping of " + m.hostname + "?");
          if (reason === null) { return; }
          api("DELETE", "/teams/" + encodeURIComponent(m.hostname), { reason: reason })
            .then(function (x) { status(x.ok ? "Mapping of " + m.hostname + " removed" : errText(x), !x.ok); loadTeams(); });
        }, "Remove the team mapping of " + m.hostname));
        tr.appendChild(td);
        rows.appendChild(tr);
      });
    });
  }
  function hostFilter() { return $("hf-q").value.trim().toLowerCase(); }
  function initHosts() {
    $("hf-q").value = query().get("q") || "";
    $("hosts-filters").addEventListener("submit", function (ev) { ev.preventDefault(); });
    $("hosts-filters").addEventListener("input", function () { setQuery({ q: $("hf-q").value.trim() }); loadHosts(); loadTeams(); });
    $("host-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/dev-hosts", { hostname: $("host-name").value, reason: $("host-reason").value.trim() })
        .then(function (res) {
          // The server's validation message, shown next to the form.
          if (!res.ok) { $("host-error").textContent = errText(res); return; }
          $("host-error").textContent = "";
          $("host-form").reset();
          status("Added dev host " + res.body.hostname);
          loadHosts();
        });
    });
    $("team-clear").addEventListener("click", resetTeamForm);
    $("team-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var host = $("team-host").value.trim();
      var body = { team_assignment: $("team-name").value, reason: $("team-reason").value.trim() };
      // An existing mapping is updated in place; a new hostname is created.
      var req;
      if (host !== "" && teams[host]) {
        req = api("PUT", "/teams/" + encodeURIComponent(host), body);
      } else {
        body.hostname = $("team-host").value;
        req = api("POST", "/teams", body);
      }
      req.then(function (res) {
        if (!res.ok) { $("team-error").textContent = errText(res); return; }
        resetTeamForm();
        status("Saved team mapping of " + ((res.body && res.body.hostname) || host));
        loadTeams();
      });
    });
    loadHosts();
    loadTeams();
  }

  // The pages with scripts of their own (dashboard.js, events.js, deadletters.js, jobs.js) use these.
  window.MUTT = { $: $, el: el, api: api, status: status, errText: errText, latest: latest, page: page, button: button };

  ({ login: initLogin, rules: initRules, audit: initAudit, config: initConfig, hosts: initHosts }[page] || function () {})();
})();
