package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
	"github.com/mutt-ops/mutt/internal/browsertest"
)

// The console's browser tests run headless Chromium against a real `mutt
// dev` started in-process (every role, its own database, key prefix and free
// ports), with events that went through ingest, the alerter and the audit.
// Screenshots are kept as test artefacts: in $MUTT_TEST_ARTIFACTS/console
// when set, else in the test's temporary directory (named in the log).
// MUTT_UPDATE_README_SCREENSHOT=1 also writes docs/img/console-rules.png,
// the README's picture of the console.

const consoleROKey = "console-test-readonly-key-0123456789abcdef"

// consoleBrowser starts headless Chromium (browsertest.New) with a desktop
// window; each chromedp.NewContext of it is a tab with its own
// sessionStorage (so its own login).
func consoleBrowser(t *testing.T) context.Context { return browsertest.New(t, 1600, 1000) }

// artefacts is where a test's screenshots go.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if root := os.Getenv("MUTT_TEST_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, "console", t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o750))
	}
	return dir
}

// shot saves the page as dir/name.png (quality 100 makes chromedp write a PNG).
func shot(t *testing.T, dir, name string, alsoTo ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			return err
		}
		p := filepath.Join(dir, name+".png")
		t.Logf("screenshot %s", p)
		for _, extra := range alsoTo {
			if err := os.WriteFile(extra, buf, 0o600); err != nil {
				return err
			}
		}
		return os.WriteFile(p, buf, 0o600)
	})
}

// consoleInstance is a running `mutt dev` with realistic events audited.
type consoleInstance struct {
	base string // the admin API and UI
	d    *app.Deps
}

// apiCall sends a request to the admin API with the key; the answer's JSON goes into out.
func (ci *consoleInstance) apiCall(t *testing.T, method, path, key string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ci.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("X-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

// startConsoleInstance runs the dev pipeline with a read-only key, sends a
// handful of events through ingest and waits until the alerter audited
// the five that match a seed rule; it adds a rule the seed's LINK-DOWN rule
// shadows.
func startConsoleInstance(t *testing.T) *consoleInstance {
	t.Helper()
	env := devEnv(t)
	env["WEBUI_READONLY_API_KEY"] = consoleROKey
	cfg, d := runInProcess(t, env)
	ci := &consoleInstance{base: "http://" + cfg.APIAddr, d: d}
	now := time.Now().UTC()
	events := []string{
		`{"hostname":"router1.prod.example.com","message":"LINK-DOWN Gi0/1 changed state to down","syslog_severity":"critical"}`,
		`{"hostname":"router2.prod.example.com","message":"LINK-DOWN Gi0/7 changed state to down","syslog_severity":"critical"}`,
		`{"hostname":"switch1.prod.example.com","message":"CRITICAL fan tray 2 failed","syslog_severity":2}`,
		`{"hostname":"dev-router1","message":"ERROR bgp neighbour 192.0.2.1 down","syslog_severity":3}`,
		`{"hostname":"firewall1.prod.example.com","message":"DOT1X-FIRMWARE-RUNNING version 4.2","syslog_severity":6}`,
		`{"hostname":"server1.prod.example.com","message":"link flapping on eth0","syslog_severity":4}`,
		`{"hostname":"server1.prod.example.com","message":"Failed password for root from 192.0.2.10","app_name":"sshd","facility":"auth","syslog_severity":4}`,
	}
	for i, ev := range events {
		ts := now.Add(time.Duration(i-len(events)) * time.Second).Format(time.RFC3339)
		code, out := postEvent(t, cfg.Ingest.Addr, app.DevIngestKey, strings.Replace(ev, `{`, `{"timestamp":"`+ts+`",`, 1))
		require.Equal(t, http.StatusOK, code, out)
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var n int
		assert.NoError(ct, d.DB.QueryRow(context.Background(), `SELECT count(*) FROM event_audit_log`).Scan(&n))
		assert.Equal(ct, len(events)-2, n)
	}, 30*time.Second, 50*time.Millisecond, "every matched event is audited (the last two match no rule)")
	var r struct {
		ID       int      `json:"id"`
		Warnings []string `json:"warnings"`
	}
	require.Equal(t, http.StatusCreated, ci.apiCall(t, http.MethodPost, "/api/v2/rules", app.DevAPIAdminKey, map[string]any{
		"match_string": "link-down gi0/1", "match_type": "contains", "priority": 40, "prod_handling": "Page_Only",
		"dev_handling": "ignore", "team_assignment": "NetOps", "reason": "console test: a rule the seed shadows"}, &r))
	require.Len(t, r.Warnings, 1)
	require.Contains(t, r.Warnings[0], "never decides")
	return ci
}

// run runs steps in the tab and fails the test on the first error.
func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

func login(t *testing.T, ctx context.Context, base, key string) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")))
	require.True(t, eval[bool](t, ctx, `document.getElementById("nav") === null && document.getElementById("logout") === null`),
		"no nav bar before login")
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#api-key"), key),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav")))
}

// TestConsoleRulesConfigAudit drives the rules, config and audit pages of a
// running `mutt dev` with an admin key: engine warnings, search, sort and
// filters in a shareable URL, a draft rule tested against the audited
// events, config defaults, changes and history, the 404 page.
func TestConsoleRulesConfigAudit(t *testing.T) {
	t.Parallel()
	ci := startConsoleInstance(t)
	ctx := consoleBrowser(t)
	dir := artefacts(t)
	login(t, ctx, ci.base, app.DevAPIAdminKey)

	// Rules: the current page is marked; the seed's handling words are in their stored spelling; the shadowed rule is flagged.
	shadowed := `//tbody[@id="rules-rows"]/tr[td[@data-col="match"]="link-down gi0/1"]`
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/rules"),
		chromedp.WaitVisible(chromedp.Search(shadowed)),
		chromedp.WaitVisible(chromedp.CSS("#rules-findings-box")))
	require.Equal(t, "/ui/rules", eval[string](t, ctx, `document.querySelector('nav a[aria-current="page"]').getAttribute("href")`))
	require.Regexp(t, `^shadowed by #\d+$`, eval[string](t, ctx,
		`document.evaluate('`+shadowed+`/td[@data-col="warning"]', document).iterateNext().textContent`))
	handlings := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#rules-rows td[data-col="prod"]')).map(td => td.textContent)`)
	for _, h := range handlings {
		require.Contains(t, []string{"Page_and_ticket", "Page_only", "Ticket_only", "Ignore"}, h)
	}
	require.Contains(t, eval[[]string](t, ctx, `Array.from(document.querySelectorAll('#rules-rows td[data-col="severity"]')).map(td => td.textContent)`), "")

	// Search and sort; the URL carries them, and opening it again shows the same view.
	run(t, ctx, chromedp.SendKeys(chromedp.CSS("#rf-q"), "link"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#rules-rows tr").length === 2`),
		chromedp.Click(chromedp.CSS(`th[data-sort="priority"] button`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('th[data-sort="priority"]').getAttribute("aria-sort") === "descending"`))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, loc, "q=link")
	require.Contains(t, loc, "sort=priority")
	require.Contains(t, loc, "dir=desc")
	run(t, ctx, chromedp.Navigate(loc), chromedp.WaitVisible(chromedp.Search(shadowed)),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll("#rules-rows tr").length === 2`))
	require.Equal(t, "link", eval[string](t, ctx, `document.getElementById("rf-q").value`))
	require.Equal(t, []string{"40", "5"}, eval[[]string](t, ctx,
		`Array.from(document.querySelectorAll('#rules-rows td[data-col="priority"]')).map(td => td.textContent)`))

	// A draft rule tested against the recent events, before saving: it
	// matches both link-down events and the dev router's bgp one; the seed's
	// LINK-DOWN rule (priority 5) takes the link-down ones first.
	run(t, ctx, chromedp.SetValue(chromedp.CSS("#rule-match-string"), "down"),
		chromedp.SetValue(chromedp.CSS("#rule-priority"), "8"),
		chromedp.SetValue(chromedp.CSS("#rule-team"), "NetOps"),
		chromedp.Click(chromedp.CSS("#rule-test")),
		chromedp.WaitVisible(chromedp.CSS("#rule-test-result")),
		shot(t, dir, "01-rules-test", readmeShot(t)...))
	summary := eval[string](t, ctx, `document.getElementById("rule-test-summary").textContent`)
	require.Contains(t, summary, "Of the last 5 events, 3 match this rule; it would decide 1 ")
	require.Equal(t, []string{"this rule", "rule 3", "rule 3"}, eval[[]string](t, ctx,
		`Array.from(document.querySelectorAll('#rule-test-rows td[data-col="decided"]')).map(td => td.textContent)`))
	require.Equal(t, "dev: Ticket_only", eval[string](t, ctx,
		`document.querySelector('#rule-test-rows tr:first-child td[data-col="handling"]').textContent`), "dev-router1 is a dev host")

	// Config: default next to the value; Edit brings the form into view with
	// the cursor in it; a change is highlighted and its history one click away.
	row := `#config-rows tr[data-key="unhandled_threshold"]`
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/config"),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row+` button.edit`)),
		chromedp.WaitVisible(chromedp.CSS("#config-form")))
	require.Equal(t, "config-value", eval[string](t, ctx, `document.activeElement.id`), "the edit form has the focus")
	def := eval[string](t, ctx, `document.querySelector('`+row+` td[data-col="default"]').textContent`)
	require.NotEmpty(t, def)
	run(t, ctx, chromedp.SetValue(chromedp.CSS("#config-value"), "321"),
		chromedp.SetValue(chromedp.CSS("#config-reason"), "console test"),
		chromedp.Click(chromedp.CSS("#config-save")),
		chromedp.WaitVisible(chromedp.CSS(row+`.changed`)),
		chromedp.Click(chromedp.CSS(row+` button.history`)),
		chromedp.WaitVisible(chromedp.CSS(`#history-rows tr`)),
		shot(t, dir, "02-config-history"))
	require.Equal(t, "321", eval[string](t, ctx, `document.querySelector('#history-rows td[data-col="new"]').textContent`))
	require.Equal(t, def, eval[string](t, ctx, `document.querySelector('`+row+` td[data-col="default"]').textContent`))
	require.Equal(t, "History of unhandled_threshold", eval[string](t, ctx, `document.activeElement.textContent`))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, loc, "history=unhandled_threshold", "the open history is in the URL")

	// Unknown UI paths: an HTML 404 page with the nav.
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/no-such-page"),
		chromedp.WaitVisible(chromedp.CSS("#notfound-path")),
		chromedp.WaitVisible(chromedp.CSS("#nav")),
		shot(t, dir, "03-not-found"))
	require.Equal(t, "Page not found", eval[string](t, ctx, `document.querySelector("h1").textContent`))
	require.Equal(t, "/ui/no-such-page", eval[string](t, ctx, `document.getElementById("notfound-path").textContent`))
}

// readmeShot is where the README's screenshot goes when
// MUTT_UPDATE_README_SCREENSHOT=1 (none otherwise).
func readmeShot(t *testing.T) []string {
	if os.Getenv("MUTT_UPDATE_README_SCREENSHOT") != "1" {
		return nil
	}
	p, err := filepath.Abs(filepath.Join("..", "docs", "img", "console-rules.png"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o750))
	return []string{p}
}

// TestConsoleKeyboardOnly uses the console with the keyboard alone: the
// skip link, then Tab to an audit change and Enter opens its diff.
func TestConsoleKeyboardOnly(t *testing.T) {
	t.Parallel()
	ci := startConsoleInstance(t)
	ctx := consoleBrowser(t)
	dir := artefacts(t)
	login(t, ctx, ci.base, app.DevAPIAdminKey)
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/audit"),
		chromedp.WaitVisible(chromedp.CSS(`#audit-rows button.open`)),
		chromedp.KeyEvent(kb.Tab))
	require.Equal(t, "Skip to content", eval[string](t, ctx, `document.activeElement.textContent`), "the first Tab reaches the skip link")
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	require.Equal(t, "main", eval[string](t, ctx, `document.activeElement.id`), "the skip link moves the focus to the content")

	// Tab on to the first change's button: every stop on the way is a control.
	reached := false
	for range 40 {
		run(t, ctx, chromedp.KeyEvent(kb.Tab))
		if eval[bool](t, ctx, `document.activeElement.matches("#audit-rows button.open")`) {
			reached = true
			break
		}
	}
	require.True(t, reached, "an audit row's button is reachable with Tab")
	label := eval[string](t, ctx, `document.activeElement.getAttribute("aria-label")`)
	require.Regexp(t, `^Show change \d+: (CREATE|UPDATE|DELETE) `, label, "the button names the change it opens")
	run(t, ctx, chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#diff-rows tr`)),
		chromedp.Poll[chromedp.Void](`document.activeElement.id === "diff-title"`),
		shot(t, dir, "01-audit-keyboard"))

	// Every action button of the rules page names the rule it acts on.
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/rules"), chromedp.WaitVisible(chromedp.CSS(`#rules-rows button.delete`)))
	unnamed := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#rules-rows button"))
		.filter(b => !/ rule \d+$/.test(b.getAttribute("aria-label") || "")).map(b => b.outerHTML)`)
	require.Empty(t, unnamed)
}

// TestConsoleReadOnlyAndPhone logs in with the read-only key: the write
// controls are hidden (not failing on submit), reading and testing a draft
// rule still work; and at a phone's width (360 px) no page scrolls sideways.
func TestConsoleReadOnlyAndPhone(t *testing.T) {
	t.Parallel()
	ci := startConsoleInstance(t)
	ctx := consoleBrowser(t)
	dir := artefacts(t)
	login(t, ctx, ci.base, consoleROKey)
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/rules"),
		chromedp.WaitVisible(chromedp.CSS(`#rules-rows tr`)),
		chromedp.WaitVisible(chromedp.CSS("#readonly-note")),
		chromedp.WaitNotVisible(chromedp.CSS("#rule-save")),
		shot(t, dir, "01-rules-readonly"))
	visibleWrites := `Array.from(document.querySelectorAll(".write, button.edit, button.delete, button.toggle"))
		.filter(e => e.offsetParent !== null).map(e => e.id || e.className)`
	require.Empty(t, eval[[]string](t, ctx, visibleWrites))
	require.Contains(t, eval[string](t, ctx, `document.getElementById("whoami").textContent`), "read-only")
	run(t, ctx, chromedp.SetValue(chromedp.CSS("#rule-match-string"), "fan"),
		chromedp.SetValue(chromedp.CSS("#rule-team"), "NetOps"),
		chromedp.Click(chromedp.CSS("#rule-test")),
		chromedp.WaitVisible(chromedp.CSS("#rule-test-result")))
	require.Equal(t, 1, eval[int](t, ctx, `document.querySelectorAll("#rule-test-rows tr").length`))
	for _, p := range []string{"config", "hosts"} {
		run(t, ctx, chromedp.Navigate(ci.base+"/ui/"+p),
			chromedp.WaitVisible(chromedp.CSS("#readonly-note")),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll("tbody tr").length > 0`))
		require.Empty(t, eval[[]string](t, ctx, visibleWrites), p)
	}
	run(t, ctx, chromedp.Navigate(ci.base+"/ui/config"), chromedp.WaitVisible(chromedp.CSS(`#config-rows button.history`)))

	// Phone width: every page fits 360 px (wide tables scroll inside their card).
	run(t, ctx, chromedp.EmulateViewport(360, 740))
	for i, p := range []string{"", "events", "rules", "config", "hosts", "audit"} {
		name := p
		if name == "" {
			name = "dashboard"
		}
		run(t, ctx, chromedp.Navigate(ci.base+"/ui/"+p),
			chromedp.WaitVisible(chromedp.CSS("#nav")),
			chromedp.Poll[chromedp.Void](`document.querySelectorAll("tbody tr").length > 0`),
			shot(t, dir, fmt.Sprintf("%02d-phone-%s", i+2, name)))
		w := eval[int](t, ctx, `document.documentElement.scrollWidth`)
		require.LessOrEqual(t, w, 360, "page /ui/%s scrolls sideways at 360 px", p)
	}
}
