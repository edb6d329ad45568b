// Dead letters page: each DLQ's entries (reason, error, attempts, payload);
// replay or discard one entry, a selection, or every entry matching the
// filter. Every action needs a reason (audited by the API) and is carried out
// by the remediation workflow, whose run the page follows until it closes.
(function () {
  "use strict";
  var M = window.MUTT;
  if (!M || M.page !== "deadletters") { return; }
  var $ = M.$, el = M.el, api = M.api;

  var params = new URLSearchParams(location.search);
  var state = { dlq: params.get("dlq") || "", reasons: params.get("reason") || "", replayable: false, temporal: null };
  var selected = {}; // entry id → true
  var after = ""; // paging cursor of the next page
  var followTimer = null;

  // shareable URL: the stream and filter shown
  function pushURL() {
    var q = new URLSearchParams();
    if (state.dlq) { q.set("dlq", state.dlq); }
    if (state.reasons) { q.set("reason", state.reasons); }
    history.replaceState(null, "", "/ui/deadletters" + (q.toString() ? "?" + q.toString() : ""));
  }
  function reasonList() {
    return state.reasons.split(",").map(function (r) { return r.trim(); }).filter(function (r) { return r !== ""; });
  }
  function showTemporal(t) {
    state.temporal = t;
    var p = $("dlq-temporal");
    p.textContent = "";
    if (!t || !t.configured) {
      p.className = "ops-temporal warn";
      p.textContent = (t && t.message) || "Temporal is not configured: dead letters can be viewed, not replayed or discarded.";
    } else {
      p.className = "ops-temporal hint";
      p.appendChild(document.createTextNode("Actions run DLQRemediationWorkflow on Temporal namespace " + t.namespace +
        ", task queue " + t.task_queue + ". "));
      if (t.ui_url) {
        var a = el("a", "Temporal UI");
        a.href = t.ui_url;
        a.target = "_blank";
        a.rel = "noopener";
        p.appendChild(a);
      }
    }
    updateButtons();
  }
  function selectedIDs() { return Object.keys(selected).filter(function (k) { return selected[k]; }); }
  function updateButtons() {
    var n = selectedIDs().length;
    var on = !!(state.temporal && state.temporal.configured);
    $("dlq-replay-selected").textContent = "Replay selected (" + n + ")";
    $("dlq-discard-selected").textContent = "Discard selected (" + n + ")";
    $("dlq-replay-selected").disabled = !on || n === 0 || !state.replayable;
    $("dlq-discard-selected").disabled = !on || n === 0;
    $("dlq-replay-all").disabled = !on || !state.replayable;
    $("dlq-discard-all").disabled = !on;
    Array.prototype.forEach.call(document.querySelectorAll("#dlq-rows button"), function (b) {
      b.disabled = !on || (b.classList.contains("replay-only") && !state.replayable);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".replay-only"), function (b) { b.hidden = !state.replayable; });
  }

  function loadStreams() {
    var fresh = M.latest("dlq-streams");
    return api("GET", "/dlq").then(function (res) {
      if (!fresh()) { return; }
      if (!res.ok) { M.status(M.errText(res), true); return; }
      showTemporal(res.body.temporal);
      var tb = $("dlq-streams");
      tb.textContent = "";
      res.body.dlqs.forEach(function (d) {
        var tr = el("tr");
        tr.dataset.dlq = d.name;
        if (d.name === state.dlq) { tr.className = "selected"; }
        tr.appendChild(el("td", d.name));
        tr.appendChild(el("td", d.stream, "mono"));
        tr.appendChild(el("td", d.entries, "depth"));
        tr.appendChild(el("td", d.oldest_failed_at || "—"));
        var td = el("td");
        var b = el("button", "Show " + d.name + " entries", "show");
        b.type = "button";
        b.addEventListener("click", function () {
          state.dlq = d.name;
          selected = {};
          pushURL();
          loadStreams();
          loadEntries(false);
        });
        td.appendChild(b);
        tr.appendChild(td);
        tb.appendChild(tr);
      });
    });
  }

  function payloadCell(e) {
    var td = el("td");
    var d = el("details");
    d.appendChild(el("summary", "payload"));
    d.appendChild(el("pre", JSON.stringify(e.data, null, 2)));
    td.appendChild(d);
    return td;
  }
  function rowButton(text, label, cls, fn) {
    var b = el("button", text, cls);
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.addEventListener("click", fn);
    return b;
  }

  // loadEntries draws the first page (more: the next one, appended).
  function loadEntries(more) {
    if (!state.dlq) { return Promise.resolve(); }
    var fresh = M.latest("dlq-entries");
    var q = new URLSearchParams();
    q.set("count", "50");
    reasonList().forEach(function (r) { q.append("reason", r); });
    if (more && after) { q.set("after", after); }
    $("dlq-table").setAttribute("aria-busy", "true");
    return api("GET", "/dlq/" + encodeURIComponent(state.dlq) + "?" + q.toString()).then(function (res) {
      if (!fresh()) { return; }
      $("dlq-table").removeAttribute("aria-busy");
      if (!res.ok) { M.status(M.errText(res), true); return; }
      var b = res.body;
      state.replayable = b.replayable;
      $("dlq-entries-card").hidden = false;
      $("dlq-name").textContent = b.name;
      $("dlq-depth").textContent = b.depth;
      $("dlq-reason-filter").value = state.reasons;
      var tb = $("dlq-rows");
      if (!more) { tb.textContent = ""; selected = {}; $("dlq-select-all").checked = false; }
      var seen = $("dlq-reasons-seen");
      var known = {};
      Array.prototype.forEach.call(seen.options, function (o) { known[o.value] = true; });
      b.entries.forEach(function (e) {
        var tr = el("tr");
        tr.dataset.id = e.id;
        var cb = el("input");
        cb.type = "checkbox";
        cb.className = "pick";
        cb.setAttribute("aria-label", "Select entry " + e.id);
        cb.addEventListener("change", function () {
          selected[e.id] = cb.checked;
          tr.classList.toggle("selected", cb.checked);
          updateButtons();
        });
        var c0 = el("td");
        c0.appendChild(cb);
        tr.appendChild(c0);
        tr.appendChild(el("td", e.id, "mono"));
        tr.appendChild(el("td", e.reason));
        tr.appendChild(el("td", e.error, "err"));
        tr.appendChild(el("td", e.attempts));
        tr.appendChild(el("td", e.replays || "0"));
        tr.appendChild(el("td", e.failed_at));
        tr.appendChild(payloadCell(e));
        var act = el("td", null, "actions");
        act.appendChild(rowButton("Replay", "Replay entry " + e.id, "replay replay-only write", function () { act1(false, { ids: [e.id] }, "entry " + e.id); }));
        act.appendChild(rowButton("Discard", "Discard entry " + e.id, "discard danger write", function () { act1(true, { ids: [e.id] }, "entry " + e.id); }));
        tr.appendChild(act);
        tb.appendChild(tr);
        if (e.reason && !known[e.reason]) {
          known[e.reason] = true;
          var o = el("option");
          o.value = e.reason;
          seen.appendChild(o);
        }
      });
      after = b.next_after || "";
      $("dlq-next").hidden = after === "";
      $("dlq-empty").hidden = tb.children.length > 0;
      updateButtons();
    });
  }

  // act1 starts a replay or discard after checking the reason field.
  function act1(discard, body, what) {
    var reason = $("dlq-action-reason").value.trim();
    if (reason === "") {
      $("dlq-action-error").textContent = "A reason is required: say why you " + (discard ? "discard " : "replay ") + what + " (it is audited).";
      $("dlq-action-reason").focus();
      return;
    }
    body.reason = reason;
    var verb = discard ? "discard" : "replay";
    if (discard && !window.confirm("Discard " + what + " of " + state.dlq + "? Discarded entries are deleted for good.")) { return; }
    $("dlq-run-state").dataset.status = "starting";
    api("POST", "/dlq/" + encodeURIComponent(state.dlq) + "/" + verb, body).then(function (res) {
      if (!res.ok) { $("dlq-action-error").textContent = M.errText(res); return; }
      $("dlq-action-reason").value = "";
      M.status((discard ? "Discard" : "Replay") + " of " + what + " started: workflow " + res.body.workflow_id);
      follow(res.body, verb + " of " + what);
    });
  }

  // follow shows the run and polls it until it closes, then reloads the lists.
  function follow(run, what) {
    if (followTimer) { clearTimeout(followTimer); }
    $("dlq-run").hidden = false;
    $("dlq-run-text").textContent = "The " + what + " of " + run.dlq + " runs as workflow " + run.workflow_id + " (run " + run.run_id + ").";
    var link = $("dlq-run-link");
    link.hidden = !run.temporal_url;
    if (run.temporal_url) { link.href = run.temporal_url; }
    $("dlq-run-state").textContent = "status: running";
    $("dlq-run-state").dataset.status = "running";
    var poll = function () {
      api("GET", "/jobs/runs/" + encodeURIComponent(run.workflow_id) + "?run_id=" + encodeURIComponent(run.run_id)).then(function (res) {
        if (!res.ok) { $("dlq-run-state").textContent = M.errText(res); return; }
        var r = res.body.run;
        var text = "status: " + r.status;
        if (r.result && r.result.streams) {
          r.result.streams.forEach(function (s) {
            text += " · " + s.stream + ": examined " + s.examined + ", replayed " + s.replayed + ", discarded " + (s.discarded || 0) +
              ", parked as poison " + s.poisoned + ", not found " + (s.not_found || 0) + ", left " + s.depth;
            if (s.moog_healthy === false) { text += " (Moogsoft unhealthy: not replayed)"; }
          });
        }
        if (r.failure) { text += " · " + r.failure; }
        $("dlq-run-state").textContent = text;
        $("dlq-run-state").dataset.status = r.status;
        if (r.status === "running" || r.status === "unknown") {
          followTimer = setTimeout(poll, 1000);
          return;
        }
        loadStreams();
        loadEntries(false);
      });
    };
    poll();
  }

  $("dlq-filter").addEventListener("submit", function (ev) {
    ev.preventDefault();
    state.reasons = $("dlq-reason-filter").value.trim();
    pushURL();
    loadEntries(false);
  });
  $("dlq-next").addEventListener("click", function () { loadEntries(true); });
  $("dlq-select-all").addEventListener("change", function () {
    var on = $("dlq-select-all").checked;
    Array.prototype.forEach.call(document.querySelectorAll("#dlq-rows input.pick"), function (cb) {
      cb.checked = on;
      cb.dispatchEvent(new Event("change"));
    });
  });
  function filterText() { return reasonList().length ? "every entry with reason " + reasonList().join(" or ") : "every entry"; }
  $("dlq-replay-selected").addEventListener("click", function () {
    var ids = selectedIDs();
    act1(false, { ids: ids }, ids.length + " selected entries");
  });
  $("dlq-discard-selected").addEventListener("click", function () {
    var ids = selectedIDs();
    act1(true, { ids: ids }, ids.length + " selected entries");
  });
  $("dlq-replay-all").addEventListener("click", function () {
    act1(false, { all: true, reasons: reasonList() }, filterText());
  });
  $("dlq-discard-all").addEventListener("click", function () {
    act1(true, { all: true, reasons: reasonList() }, filterText());
  });
  $("dlq-action-form").addEventListener("submit", function (ev) { ev.preventDefault(); });

  loadStreams();
  loadEntries(false);
})();
