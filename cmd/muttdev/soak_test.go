package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSoakRejectsBadFlagsBeforeDialling: a soak lasts half an hour, so a
// mistake in its flags must fail at once (exit 2, naming the flag), and a
// missing Temporal must fail before anything is built or started (exit 3,
// with the hint to start one or to soak without it).
func TestSoakRejectsBadFlagsBeforeDialling(t *testing.T) {
	t.Parallel()
	for args, flag := range map[string][]string{
		"--duration":       {"soak", "--duration", "30s"},
		"--rate":           {"soak", "--rate", "0"},
		"--sample":         {"soak", "--duration", "10m", "--sample", "5m"},
		"--schedule-every": {"soak", "--schedule-every", "1s"},
		"--batch":          {"soak", "--batch", "0"},
		"extra":            {"soak", "extra"},
	} {
		r := muttdev(t, unreachableEnv(), "", flag...)
		assert.Equal(t, exitUsage, r.code, "muttdev %v: %s", flag, r.stderr)
		assert.Contains(t, r.stderr, args, "muttdev %v names what is wrong", flag)
		assert.NotContains(t, r.stderr, "not reachable")
	}
	r := muttdev(t, unreachableEnv(), "", "soak", "--temporal-address", "127.0.0.1:1")
	assert.Equal(t, exitUnreachable, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--temporal-address none")
}

// TestBenchRejectsBadFlagsBeforeDialling: muttdev bench (and mutt bench,
// which runs it) reads its flags with one dash or two, as mutt bench did,
// and a mistake fails at once (exit 2, naming the flag) without dialling.
func TestBenchRejectsBadFlagsBeforeDialling(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"-rate":       {"bench", "-rate", "0"},
		"-duration":   {"bench", "--duration=0s"},
		"-batch":      {"bench", "-batch", "0"},
		"-phases":     {"bench", "-phases", "fixed,warp"},
		"-no-such":    {"bench", "-no-such", "1"},
		"extra":       {"bench", "extra"},
		"-senders":    {"bench", "-rate", "7", "--senders", "0"},
		"not defined": {"bench", "--bogus"},
	} {
		r := muttdev(t, unreachableEnv(), "", args...)
		assert.Equal(t, exitUsage, r.code, "muttdev %v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, name, "muttdev %v names what is wrong", args)
		assert.NotContains(t, r.stderr, "not reachable")
	}
	r := muttdev(t, unreachableEnv(), "", "bench", "-h")
	assert.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "-phases")
	assert.Contains(t, r.stdout, "-mutt")
	assert.Contains(t, r.stdout, "-one-process")
}
