package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mutt-ops/mutt/internal/event"
)

// Dynamic settings the alerter must apply at run time, without a restart.

// batches is what mutt_alerter_batch_size has recorded: batches processed,
// events in them, and batches of at most 5 events (a bucket bound).
type batches struct{ count, events, upTo5 uint64 }

func (in *instance) batches(t testing.TB) batches {
	t.Helper()
	mfs, err := in.reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "mutt_alerter_batch_size" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		b := batches{count: h.GetSampleCount(), events: uint64(h.GetSampleSum())}
		for _, bk := range h.GetBucket() {
			if bk.GetUpperBound() == 5 {
				b.upTo5 = bk.GetCumulativeCount()
			}
		}
		return b
	}
	return batches{}
}

func TestBatchSizeChangeAppliesToTheNextRead(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(t)
	// round adds 12 events in one atomic step, waits until all are
	// acknowledged, and returns how they were batched.
	round := func(name string) batches {
		before := in.batches(t)
		var envs []event.Envelope
		for i := range 12 {
			envs = append(envs, newEnvelope("router1.prod.example.com", fmt.Sprintf("LINK-DOWN %s port %d", name, i)))
		}
		r.enqueue(t, envs...)
		r.drained(t)
		after := in.batches(t)
		return batches{count: after.count - before.count, events: after.events - before.events, upTo5: after.upTo5 - before.upTo5}
	}

	require.Equal(t, batches{count: 1, events: 12}, round("default"), "alerter_batch_size 500: one read takes all")

	r.set(t, "alerter_batch_size", "5")
	// A read already waiting for entries when the value changed still uses
	// the old size; it ends with this round at the latest.
	require.EqualValues(t, 12, round("in-flight").events)
	require.Equal(t, batches{count: 3, events: 12, upTo5: 3}, round("resized"), "reads of at most 5: 5, 5, 2")
	require.Len(t, readAudit(t, r.db), 36, "every event audited")
}

// With entries of several events, a read takes as many entries as make about
// alerter_batch_size events, by the last batch's events per entry.
func TestBatchSizeCountsEventsOfEntriesOfSeveral(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	in := r.start(t)
	r.set(t, "alerter_batch_size", "10")
	round := func(name string) batches {
		before := in.batches(t)
		var envs []event.Envelope
		for i := range 20 {
			envs = append(envs, newEnvelope("router1.prod.example.com", fmt.Sprintf("LINK-DOWN %s port %d", name, i)))
		}
		r.enqueueEntries(t, 5, envs...)
		r.drained(t)
		after := in.batches(t)
		return batches{count: after.count - before.count, events: after.events - before.events}
	}
	// Until a batch of several per entry was seen, a read takes up to 10
	// entries: all four (20 events) at once, or fewer if some were read
	// before the others were added. The read already waiting when the first
	// batch was measured still asks for 10.
	require.EqualValues(t, 20, round("first").events)
	require.EqualValues(t, 20, round("in-flight").events)
	require.Equal(t, batches{count: 2, events: 20}, round("resized"), "reads of 2 entries of 5: 10 events each")
	require.Len(t, readAudit(t, r.db), 60, "every event audited")
}

// TestReadsOfSingleEventsAreBounded: a read asks for at most as many
// entries as 10 000 events would fill at 100 per entry (ADR 0048), so that
// after a run of single events a read of full entries cannot bring 100 times
// the batch size; with the default batch size, single events go 100 at a time.
func TestReadsOfSingleEventsAreBounded(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	var envs []event.Envelope
	for i := range 300 {
		envs = append(envs, newEnvelope("router1.prod.example.com", fmt.Sprintf("LINK-DOWN port %d", i)))
	}
	r.enqueue(t, envs...)
	in := r.start(t)
	r.drained(t)
	require.Equal(t, batches{count: 3, events: 300}, in.batches(t), "three reads of 100 single events")

	// Full entries now, more than a read may bring: the read already asking
	// for 100 entries takes 10 000 events, not all 10 100.
	envs = envs[:0]
	for i := range 10_100 {
		envs = append(envs, newEnvelope("router1.prod.example.com", fmt.Sprintf("LINK-DOWN full %d", i)))
	}
	r.enqueueEntries(t, 100, envs...)
	r.drained(t)
	after := in.batches(t)
	require.EqualValues(t, 300+10_100, after.events)
	require.GreaterOrEqual(t, after.count, uint64(3+2), "no read brought more than 10 000 events")
}

// newRule adds an active rule behind the alerter's back: nothing is published
// on the rules-update channel, so only a periodic reload can pick it up.
func (r *rig) newRule(t *testing.T, match string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, r.db.QueryRow(context.Background(), `INSERT INTO alert_rules (match_string, match_type,
		priority, prod_handling, dev_handling, team_assignment) VALUES ($1, 'contains', 1, 'Page_only', 'Ignore',
		'Storage') RETURNING id`, match).Scan(&id))
	return id
}

// requireRuleApplies waits until the alerter uses rule id for events that
// contain match.
func (r *rig) requireRuleApplies(t *testing.T, in *instance, id int64, match string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 6, in.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait,
		10*time.Millisecond, "the periodic reload picks up the new rule")
	e := newEnvelope("array1", "disk "+match+" failure") // unmatched under the seed rules
	r.enqueue(t, e)
	r.drained(t)
	row := readAudit(t, r.db)[e.EventID]
	require.Len(t, row, 1)
	require.Equal(t, id, *row[0].RuleID)
}

func TestRulesReloadPeriodicallyWithoutNotice(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.set(t, "cache_reload_interval", "1")
	in := r.start(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 5, in.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait, 10*time.Millisecond)

	id := r.newRule(t, "SILENT-CHANGE")
	r.requireRuleApplies(t, in, id, "SILENT-CHANGE")
	require.Zero(t, in.metric(t, "mutt_alerter_cache_reload_failures_total"))
	require.GreaterOrEqual(t, in.metric(t, "mutt_alerter_cache_reload_total"), 2.0, "the Python MUTT's name: every reload counts")
}

func TestLoweredReloadIntervalAppliesToTheArmedTimer(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.set(t, "cache_reload_interval", "86400") // the next periodic reload is a day away
	in := r.start(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.EqualValues(c, 5, in.metric(c, "mutt_alerter_cache_rules_count"))
	}, wait, 10*time.Millisecond)

	id := r.newRule(t, "LOWERED-INTERVAL")
	r.set(t, "cache_reload_interval", "1")
	// Eventually's bound (15 s) is far below the day the old timer waits.
	r.requireRuleApplies(t, in, id, "LOWERED-INTERVAL")
}
