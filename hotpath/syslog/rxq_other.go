//go:build !linux

package syslog

import "net"

const oobSize = 0

// enableDropCount is Linux only; elsewhere the kernel's drops are not seen.
func enableDropCount(*net.UDPConn) error { return nil }

func dropCount([]byte) (uint32, bool) { return 0, false }
