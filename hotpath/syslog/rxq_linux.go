//go:build linux

package syslog

import (
	"encoding/binary"
	"net"

	"golang.org/x/sys/unix"
)

// oobSize is room for the SO_RXQ_OVFL control message.
var oobSize = unix.CmsgSpace(4)

// enableDropCount asks the kernel to attach its drop counter of the socket
// to every datagram (SO_RXQ_OVFL).
func enableDropCount(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	}); err != nil {
		return err
	}
	return serr
}

// dropCount reads the kernel's cumulative drop counter from a datagram's
// control data; ok is false when it is not there.
func dropCount(oob []byte) (uint32, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}
