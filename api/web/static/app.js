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

  var logout = $("logout");
  if (logout) {
    logout.addEventListener("click", function () { sessionStorage.removeItem(KEY); location.href = "/ui/login"; });
  }
  if (page !== "login" && !sessionStorage.getItem(KEY)) {
    location.href = "/ui/login";
    return;
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
  var rules = {};
  var facilities = ["kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "cron2", "local0", "local1", "local2", "local3", "local4", "local5",
    "local6", "local7"];
  function facilityText(f) {
    if (f === null || f === undefined) { return ""; }
    return (facilities[f] || "?") + " (" + f + ")";
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
      prod_handling: $("rule-prod").value.trim(),
      dev_handling: $("rule-dev").value.trim(),
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
    $("rule-error").textContent = "";
    $("rule-warnings").textContent = "";
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
    $("rule-prod").value = r.prod_handling;
    $("rule-dev").value = r.dev_handling;
    $("rule-team").value = r.team_assignment;
    $("rule-active").checked = r.is_active;
    $("rule-form-title").textContent = "Edit rule " + r.id + " (version " + r.version + ")";
    $("rule-save").textContent = "Save";
  }
  function button(text, cls, fn) {
    var b = el("button", text, cls);
    b.type = "button";
    b.addEventListener("click", fn);
    return b;
  }
  function loadRules() {
    var current = latest("rules");
    return api("GET", "/rules").then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      var rows = $("rules-rows");
      rows.textContent = "";
      rules = {};
      $("rules-total").textContent = res.body.total;
      res.body.rules.forEach(function (r) {
        rules[r.id] = r;
        var tr = el("tr");
        tr.dataset.id = r.id;
        [r.id, r.match_type, r.match_string, r.trap_oid, r.app_name, facilityText(r.facility), r.priority, r.prod_handling, r.dev_handling,
          r.team_assignment, r.is_active ? "yes" : "no", r.version].forEach(function (v) { tr.appendChild(el("td", v)); });
        var td = el("td", null, "actions");
        td.appendChild(button("Edit", "edit", function () { editRule(r); }));
        td.appendChild(button(r.is_active ? "Disable" : "Enable", "toggle", function () {
          var reason = askReason((r.is_active ? "Disable" : "Enable") + " rule " + r.id + "?");
          if (reason === null) { return; }
          api("PATCH", "/rules/" + r.id, { is_active: !r.is_active, version: r.version, reason: reason })
            .then(function (x) { status(x.ok ? "" : errText(x), !x.ok); loadRules(); });
        }));
        td.appendChild(button("Delete", "delete danger", function () {
          var reason = askReason("Delete rule " + r.id + "?");
          if (reason === null) { return; }
          api("DELETE", "/rules/" + r.id, { reason: reason })
            .then(function (x) { status(x.ok ? "Rule " + r.id + " deleted" : errText(x), !x.ok); loadRules(); });
        }));
        tr.appendChild(td);
        rows.appendChild(tr);
      });
    });
  }
  function initRules() {
    $("rule-cancel").addEventListener("click", resetRuleForm);
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
  function fmt(v) {
    if (v === undefined) { return ""; }
    return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
  }
  function showDiff(id) {
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
    });
  }
  function loadAudit() {
    var q = new URLSearchParams();
    [["changed_by", "f-changed-by"], ["table_name", "f-table"], ["record_id", "f-record"],
      ["operation", "f-operation"], ["start_date", "f-start"], ["end_date", "f-end"]].forEach(function (p) {
      var v = $(p[1]).value.trim();
      if (v !== "") { q.set(p[0], v); }
    });
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
        [c.id, c.changed_at, c.changed_by, c.operation, c.table_name, c.record_id, c.reason].forEach(function (v) {
          tr.appendChild(el("td", v));
        });
        tr.addEventListener("click", function () { showDiff(c.id); });
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
    $("audit-filters").addEventListener("submit", function (ev) { ev.preventDefault(); auditPage = 1; loadAudit(); });
    $("audit-prev").addEventListener("click", function () { if (auditPage > 1) { auditPage--; loadAudit(); } });
    $("audit-next").addEventListener("click", function () { if (auditPage < auditPages) { auditPage++; loadAudit(); } });
    loadAudit();
  }

  // ---- dynamic config ----
  function loadConfig() {
    var current = latest("config");
    api("GET", "/config").then(function (res) {
      if (!current()) { return; }
      if (!res.ok) { status(errText(res), true); return; }
      var rows = $("config-rows");
      rows.textContent = "";
      res.body.config.forEach(function (k) {
        var tr = el("tr");
        tr.dataset.key = k.key;
        tr.appendChild(el("td", k.key, "mono"));
        tr.appendChild(el("td", k.raw_value + (k.source === "default" ? " (default)" : ""), "value"));
        tr.appendChild(el("td", k.type + (k.min !== undefined ? " " + k.min + "–" + k.max : "") +
          (k.enum ? " [" + k.enum.join(", ") + "]" : "")));
        tr.appendChild(el("td", k.description, "hint"));
        var td = el("td");
        td.appendChild(button("Edit", "edit", function () {
          $("config-key").value = k.key;
          $("config-key-label").textContent = k.key;
          $("config-value").value = k.raw_value;
          $("config-error").textContent = "";
          $("config-form").hidden = false;
        }));
        tr.appendChild(td);
        rows.appendChild(tr);
      });
    });
  }
  function initConfig() {
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
        });
    });
    loadConfig();
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
      res.body.hosts.forEach(function (h) {
        var tr = el("tr");
        tr.dataset.host = h.hostname;
        tr.appendChild(el("td", h.hostname, "mono"));
        tr.appendChild(el("td", h.created_at));
        var td = el("td", null, "actions");
        td.appendChild(button("Delete", "delete danger", function () {
          var reason = askReason("Remove dev host " + h.hostname + "?");
          if (reason === null) { return; }
          api("DELETE", "/dev-hosts/" + encodeURIComponent(h.hostname), { reason: reason })
            .then(function (x) { status(x.ok ? "Dev host " + h.hostname + " removed" : errText(x), !x.ok); loadHosts(); });
        }));
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
      res.body.teams.forEach(function (m) {
        teams[m.hostname] = m;
        var tr = el("tr");
        tr.dataset.host = m.hostname;
        tr.appendChild(el("td", m.hostname, "mono"));
        tr.appendChild(el("td", m.team_assignment));
        tr.appendChild(el("td", m.updated_at));
        var td = el("td", null, "actions");
        td.appendChild(button("Edit", "edit", function () { editTeam(m); }));
        td.appendChild(button("Delete", "delete danger", function () {
          var reason = askReason("Remove the team mapping of " + m.hostname + "?");
          if (reason === null) { return; }
          api("DELETE", "/teams/" + encodeURIComponent(m.hostname), { reason: reason })
            .then(function (x) { status(x.ok ? "Mapping of " + m.hostname + " removed" : errText(x), !x.ok); loadTeams(); });
        }));
        tr.appendChild(td);
        rows.appendChild(tr);
      });
    });
  }
  function initHosts() {
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
