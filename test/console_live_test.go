package test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/app"
)

// The browser tests of the live dashboard and the event browser drive the
// pages of a real dev pipeline (runInProcess: ingestor, alerter, forwarder,
// Moogsoft simulator and API on free ports) after posting real events to its
// ingestor. Screenshots go to the test's artifact directory: kept with
// `go test -artifacts` (under -outputdir), else removed with the test.

// consoleShot saves the whole page as name.png in the test's artifact directory.
func consoleShot(t *testing.T, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: a PNG
		if err != nil {
			return err
		}
		p := filepath.Join(t.ArtifactDir(), name+".png")
		t.Logf("screenshot %s", p)
		return os.WriteFile(p, buf, 0o600)
	})
}

func consoleText[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(sel))
	require.NoError(t, err, "read text of %v", sel)
	return strings.TrimSpace(v)
}

// consoleLogin logs in on the dev API's login page with the dev admin key.
func consoleLogin(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), app.DevAPIAdminKey),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#roles-rows tr"))))
}

// postEvents posts one event per message from host and answers their event ids.
func postEvents(t *testing.T, cfg app.Config, host string, messages ...string) []string {
	t.Helper()
	var ids []string
	for _, m := range messages {
		body := fmt.Sprintf(`{"hostname":%q,"timestamp":%q,"message":%q}`, host, time.Now().UTC().Format(time.RFC3339), m)
		code, out := postEvent(t, cfg.Ingest.Addr, app.DevIngestKey, body)
		require.Equal(t, http.StatusOK, code, out)
		ids = append(ids, out["event_ids"].([]any)[0].(string))
	}
	return ids
}

// TestConsoleLiveDashboard: events posted to a running dev pipeline show up
// on the dashboard without reloading it — funnel, ingest by source, roles,
// Moogsoft — and every label of time says UTC.
func TestConsoleLiveDashboard(t *testing.T) {
	t.Parallel()
	cfg, _ := runInProcess(t, devEnv(t))
	base := "http://" + cfg.APIAddr
	ctx := consoleBrowser(t)
	consoleLogin(t, ctx, base)
	require.NoError(t, chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.getElementById("updated-at").dataset.generatedAt !== undefined`)))
	require.Contains(t, consoleText(t, ctx, chromedp.CSS("#updated-at")), "UTC")
	first := consoleText(t, ctx, chromedp.CSS("#updated-at"))

	// Two events a seed rule matches (page_and_ticket: forwarded to the
	// simulator) and one no rule matches, from another host.
	postEvents(t, cfg, "router1.prod.example.com", "LINK-DOWN Gi0/1 changed state to down", "LINK-DOWN Gi0/2 changed state to down")
	postEvents(t, cfg, "quiet-host.example.com", "nothing any rule knows about")

	// The page refreshes itself: the numbers arrive with no navigation.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		funnel, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`["f-accepted","f-matched","f-audited","f-forwarded","f-unhandled","m-24h"]
			.map(id => document.getElementById(id).textContent)`))
		if !assert.NoError(c, err) {
			return
		}
		assert.Equal(c, []string{"3", "2", "2", "2", "1", "3"}, funnel)
	}, 90*time.Second, 500*time.Millisecond)
	require.NotEqual(t, first, consoleText(t, ctx, chromedp.CSS("#updated-at")), "updated at moved on")
	require.Equal(t, "3", consoleText(t, ctx, chromedp.CSS(`#source-rows tr[data-source="http"] td:nth-child(2)`)))
	require.Equal(t, "0", consoleText(t, ctx, chromedp.CSS(`#source-rows tr[data-source="snmp"] td:nth-child(2)`)))
	for _, role := range []string{"ingestor", "alerter", "forwarder", "api"} {
		require.Equal(t, "up", consoleText(t, ctx, chromedp.CSS(`#roles-rows tr[data-role="`+role+`"] .badge`)), role)
		require.Equal(t, "1", consoleText(t, ctx, chromedp.CSS(`#roles-rows tr[data-role="`+role+`"] td:nth-child(3)`)), role)
	}
	require.Equal(t, "100.0 %", consoleText(t, ctx, chromedp.CSS("#moog-success")))
	require.Equal(t, "breaker closed", consoleText(t, ctx, chromedp.CSS("#breaker-state")))
	require.Contains(t, consoleText(t, ctx, chromedp.CSS(`#shard-rows tr`)), "alerter")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#chart svg"))))
	ticks, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#chart .tick")).slice(0, -1).map(t => t.textContent)`))
	require.NoError(t, err)
	require.NotEmpty(t, ticks)
	for _, tk := range ticks {
		require.True(t, strings.HasSuffix(tk, " UTC"), "hour label %q states its time zone", tk)
	}

	// Pausing stops the refresh, and the button says what it does.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#refresh-toggle")),
		chromedp.Poll[chromedp.Void](`document.getElementById("refresh-toggle").getAttribute("aria-pressed") === "true"`)))
	require.Equal(t, "Resume auto-refresh", consoleText(t, ctx, chromedp.CSS("#refresh-toggle")))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#refresh-toggle")),
		consoleShot(t, "dashboard")))
}

// TestConsoleEventBrowser: events posted to a running dev pipeline are found
// by host and rule, paged by keyset, opened by keyboard with their details,
// and every view is a URL that opens the same view again. The rules page
// links a rule's recent matches to the browser.
func TestConsoleEventBrowser(t *testing.T) {
	t.Parallel()
	cfg, d := runInProcess(t, devEnv(t))
	base := "http://" + cfg.APIAddr
	const host = "edge7.prod.example.com"
	ids := postEvents(t, cfg, host, "LINK-DOWN Gi0/1 changed state to down", "LINK-DOWN Gi0/2 changed state to down",
		"LINK-DOWN Gi0/3 changed state to down")
	var rule int
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		assert.NoError(c, d.DB.QueryRow(context.Background(), `SELECT count(*), coalesce(max(matched_rule_id), 0)
            FROM event_audit_log WHERE hostname = $1`, host).Scan(&n, &rule))
		assert.Equal(c, 3, n)
	}, 60*time.Second, 200*time.Millisecond)

	ctx := consoleBrowser(t)
	consoleLogin(t, ctx, base)
	rows := `//table[@id="events-table"][not(@aria-busy)]/tbody[@id="event-rows"]/tr`
	count := func() int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#event-rows tr").length`))
		require.NoError(t, err)
		return n
	}

	// Search by host through the form; the URL then carries the filter.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/ui/events?page_size=2"),
		chromedp.WaitVisible(chromedp.CSS("#event-filters")),
		chromedp.SetValue(chromedp.CSS("#e-hostname"), host),
		chromedp.Click(chromedp.CSS("#event-search")),
		chromedp.WaitVisible(chromedp.Search(rows+`[td[2]="`+host+`"]`))))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, loc, "hostname="+host)
	require.Contains(t, loc, "page_size=2")
	require.Equal(t, 2, count(), "the first keyset page")
	require.Equal(t, ids[2], attr(t, ctx, "#event-rows tr:first-child", "data-event-id"), "newest first")

	// Older events: the next keyset page holds the oldest.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#events-older")),
		chromedp.Poll[chromedp.Void](`location.search.includes("after=") && document.querySelectorAll("#event-rows tr").length === 1 &&
			!document.getElementById("events-table").hasAttribute("aria-busy")`)))
	require.Equal(t, ids[0], attr(t, ctx, "#event-rows tr:first-child", "data-event-id"))

	// Open the event by keyboard: its link takes the focus, Enter opens it.
	require.NoError(t, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS("#event-rows tr:first-child a")),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#event-fields dd")),
		consoleShot(t, "event-detail")))
	require.Equal(t, "Open event "+ids[0]+" from "+host, attr(t, ctx, "#event-rows tr:first-child a", "aria-label"))
	detail := detailFields(t, ctx)
	require.Equal(t, ids[0], detail["Event id"])
	require.Equal(t, "rule "+strconv.Itoa(rule), detail["Rule that matched"])
	require.Equal(t, "NetOps", detail["Team"])
	require.Equal(t, "prod", detail["Environment"])
	require.Equal(t, "Moogsoft", detail["Where it went"])
	require.Contains(t, consoleText(t, ctx, chromedp.CSS("#event-raw")), "LINK-DOWN Gi0/1 changed state to down")
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	require.NoError(t, err)
	require.Equal(t, "event-detail", focused, "the details take the focus")

	// The URL is the view: a fresh tab opening it shows the same event.
	shared, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, shared, "event="+ids[0])
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	// The key is per tab (sessionStorage): log this tab in first.
	consoleLogin(t, tab, base)
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate(shared), chromedp.WaitVisible(chromedp.CSS("#event-fields dd"))))
	require.Equal(t, ids[0], detailFields(t, tab)["Event id"])
	v, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS("#e-hostname")))
	require.NoError(t, err)
	require.Equal(t, host, v, "the form shows the shared filter")

	// Filters that match nothing, and a bad filter, say so.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/ui/events?handling=ignore&hostname="+host),
		chromedp.Poll[chromedp.Void](`!document.getElementById("events-table").hasAttribute("aria-busy")`)))
	require.Equal(t, 0, count())
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/ui/events?rule_id=abc"),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent !== ""`)))
	require.Contains(t, consoleText(t, ctx, chromedp.CSS("#status")), "rule_id")

	// The rules page counts the rule's matches and links to them.
	hitRow := `#rule-hits-rows tr[data-rule-id="` + strconv.Itoa(rule) + `"]`
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(base+"/ui/rules"),
		chromedp.WaitVisible(chromedp.CSS(hitRow)),
		consoleShot(t, "rule-hits")))
	require.Equal(t, "3", consoleText(t, ctx, chromedp.CSS(hitRow+" td.hits")))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(hitRow+" a")),
		chromedp.WaitVisible(chromedp.Search(rows+`[td[2]="`+host+`"]`)),
		consoleShot(t, "events-by-rule")))
	loc, err = chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, "/ui/events?rule_id="+strconv.Itoa(rule)), loc)
	require.Equal(t, 3, count())
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	require.NoError(t, err)
	return v.Value
}

// detailFields reads the open event's fields (dt → dd text).
func detailFields(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	m, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries(Array.from(
		document.querySelectorAll("#event-fields dt")).map(dt => [dt.textContent, dt.nextElementSibling.textContent]))`))
	require.NoError(t, err)
	return m
}
