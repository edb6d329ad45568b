package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDecodeAppNameAndFacility: the rule conditions app_name and facility
// are read from what HTTP clients send; a value that is not one is ignored,
// as rsyslog's "invld" facility must not refuse the event.
func TestDecodeAppNameAndFacility(t *testing.T) {
	t.Parallel()
	const head = `{"hostname":"h","message":"m","timestamp":"2025-01-02T03:04:05Z"`
	for _, tc := range []struct {
		name, extra string
		app         string
		fac         *int
	}{
		{"absent", ``, "", nil},
		{"app name and facility code", `,"app_name":"sshd","facility":4`, "sshd", sevp(4)},
		{"facility keyword as rsyslog sends it", `,"facility":"local4"`, "", sevp(20)},
		{"facility keyword upper-case", `,"facility":"AUTHPRIV"`, "", sevp(10)},
		{"facility code as a string", `,"facility":"23"`, "", sevp(23)},
		{"facility zero", `,"facility":0`, "", sevp(0)},
		{"facility out of range ignored", `,"facility":24`, "", nil},
		{"facility invalid keyword ignored", `,"facility":"invld"`, "", nil},
		{"facility fraction ignored", `,"facility":4.5`, "", nil},
		{"facility negative ignored", `,"facility":-1`, "", nil},
		{"facility null is absent", `,"facility":null`, "", nil},
		{"facility object ignored", `,"facility":{"a":1}`, "", nil},
		{"app name escaped", `,"app_name":"ss\u0068d"`, "sshd", nil},
		{"app name not a string ignored", `,"app_name":42`, "", nil},
		{"app name empty ignored", `,"app_name":""`, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			envs, err := testDecoder().decode([]byte(head+tc.extra+"}"), testStamp)
			require.NoError(t, err)
			require.Len(t, envs, 1)
			require.Equal(t, tc.app, envs[0].AppName)
			require.Equal(t, tc.fac, envs[0].Facility)
		})
	}
}
