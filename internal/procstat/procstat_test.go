package procstat

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	s, err := parse([]byte("42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 1 0 5 0 0\n"))
	require.NoError(t, err)
	assert.Equal(t, Stat{Comm: "a (b) c", State: 'S', CPU: 2800 * time.Millisecond}, s)
	for _, bad := range []string{"", "42 comm S 1", "42 (x) S 1 2 3", "42 (x) S 1 42 42 0 -1 4 1 0 0 0 u s"} {
		_, err := parse([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func TestReadsThisProcess(t *testing.T) {
	s, err := Read(os.Getpid())
	require.NoError(t, err)
	assert.Equal(t, byte('R'), s.State, "it is running while it reads itself")
	var seen bool
	Each(func(pid int, _ Stat) { seen = seen || pid == os.Getpid() })
	assert.True(t, seen)
	_, err = Read(-1)
	assert.Error(t, err)
}
