// Rules page: each rule's matches in the last 24 h, linked to the event
// browser filtered by that rule.
(function () {
  "use strict";
  var M = window.MUTT;
  if (!M) { return; }
  var rows = document.getElementById("rule-hits-rows");
  M.api("GET", "/audit-logs/rule-hits?hours=24").then(function (res) {
    if (!res.ok) { M.status(M.errText(res), true); return; }
    rows.textContent = "";
    if (res.body.hits.length === 0) {
      var tr = M.el("tr");
      var td = M.el("td", "No rule matched an event in the last 24 h.", "hint");
      td.colSpan = 3;
      tr.appendChild(td);
      rows.appendChild(tr);
    }
    res.body.hits.forEach(function (h) {
      var tr = M.el("tr");
      tr.dataset.ruleId = h.rule_id;
      var td = M.el("td");
      var a = M.el("a", "rule " + h.rule_id);
      a.href = "/ui/events?rule_id=" + h.rule_id;
      a.setAttribute("aria-label", "Recent matches of rule " + h.rule_id + " in the event browser");
      td.appendChild(a);
      tr.appendChild(td);
      tr.appendChild(M.el("td", h.hits, "hits"));
      tr.appendChild(M.el("td", h.last_seen.replace("T", " ").replace("Z", "")));
      rows.appendChild(tr);
    });
  });
})();
