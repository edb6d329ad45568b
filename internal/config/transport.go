package config

import (
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
)

// AllowInsecureTransport is the setting that turns the transport checks
// outside `mutt dev` from refusals into one warning per setting.
const AllowInsecureTransport = "MUTT_ALLOW_INSECURE_TRANSPORT"

// Plaintext says why a connection to rawURL would not be protected by TLS
// ("" when it is, or when it stays on this host). Plaintext to a loopback
// host (127.0.0.0/8, ::1, localhost) or a Unix socket is accepted: it never
// leaves the machine. Elsewhere: http:// (Vault, Moogsoft), redis:// rather
// than rediss://, and a PostgreSQL URL whose sslmode is disable, allow,
// prefer or missing (pgx's default, prefer, falls back to plaintext and
// verifies nothing).
func Plaintext(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || rawURL == "" {
		return ""
	}
	host := u.Hostname()
	switch u.Scheme {
	case "http", "redis":
		// A Redis Cluster URL names more nodes in addr= parameters.
		hosts := []string{host}
		if u.Scheme == "redis" {
			for _, a := range u.Query()["addr"] {
				h, _, err := net.SplitHostPort(a)
				if err != nil {
					h = a
				}
				hosts = append(hosts, h)
			}
		}
		for _, h := range hosts {
			if !loopback(h) {
				return fmt.Sprintf("%s:// is plaintext to %s", u.Scheme, h)
			}
		}
		return ""
	case "postgres", "postgresql":
		q := u.Query()
		mode := q.Get("sslmode")
		switch mode {
		case "require", "verify-ca", "verify-full":
			return ""
		}
		if h := q.Get("host"); strings.HasPrefix(h, "/") {
			return "" // a Unix socket directory
		} else if h != "" {
			host = h
		}
		if loopback(host) {
			return ""
		}
		if mode == "" {
			return "has no sslmode, which means prefer: plaintext when the server offers no TLS, and no certificate check"
		}
		return fmt.Sprintf("sslmode=%s allows plaintext to %s", mode, host)
	}
	return ""
}

func loopback(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckTransport applies the transport rule to the URLs of the named
// settings (variable → URL) unless dev is set: a plaintext connection that
// leaves the machine is a configuration error naming the variable, or, with
// MUTT_ALLOW_INSECURE_TRANSPORT=true, a warning returned for the caller to
// log once at start. names gives the order of the checks and messages.
func (e *Env) CheckTransport(dev bool, names []string, urls map[string]string) (warnings []string) {
	allow := e.Bool(false, AllowInsecureTransport)
	if dev {
		return nil
	}
	for _, n := range names {
		why := Plaintext(urls[n])
		if why == "" {
			continue
		}
		if allow {
			warnings = append(warnings, fmt.Sprintf("%s: %s; allowed by %s=true", n, why, AllowInsecureTransport))
			continue
		}
		e.Fail(n, "%s: use TLS (https://, rediss://, sslmode=verify-full), or set %s=true to accept it", why, AllowInsecureTransport)
	}
	return warnings
}

// CheckSecretsFile refuses (unless dev) a secrets file that other users may
// read or write, naming the variable and the chmod to run. A missing file is
// no error: setup creates it with mode 0600.
func (e *Env) CheckSecretsFile(dev bool, name, path string) {
	if dev || path == "" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		if !os.IsNotExist(err) {
			e.Fail(name, "%s: %v", path, err)
		}
		return
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		e.Fail(name, "%s has mode %04o: other users may read the credentials in it; run: chmod 600 %s",
			path, uint32(perm&fs.ModePerm), path)
	}
}
