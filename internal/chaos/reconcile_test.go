package chaos

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEventIDsOfDeadLetters: a dead letter's data is an event (event_id), an
// alert (external_id, usually the same id) or a batch of them; anything else
// names no event.
func TestEventIDsOfDeadLetters(t *testing.T) {
	require.Equal(t, []string{"a"}, eventIDs(`{"event_id":"a","hostname":"h"}`))
	require.Equal(t, []string{"a", "a"}, eventIDs(`{"event_id":"a","external_id":"a"}`))
	require.Equal(t, []string{"b", "c"}, eventIDs(`[{"external_id":"b"},{"event_id":"c"},{"x":1}]`))
	require.Empty(t, eventIDs(`not json`))
	require.Empty(t, eventIDs(`{"event_id":7}`))
}

// TestOutcomeSummary: the promise holds only with nothing lost and nothing
// audited twice, and the examples name the events.
func TestOutcomeSummary(t *testing.T) {
	o := Outcome{Accepted: 3, Delivered: 2, Duplicates: 1}
	require.True(t, o.OK())
	require.InDelta(t, 0.5, o.DuplicateRate(), 1e-9)
	o.Lost = []string{"id1: not audited"}
	o.AuditedTwice = []string{"id2: 2 audit rows"}
	require.False(t, o.OK())
	require.Equal(t, "id1: not audited\nid2: 2 audit rows", o.Examples(5))
	require.Equal(t, "id1: not audited", o.Examples(1))
	require.Contains(t, o.String(), "lost 1")
}
