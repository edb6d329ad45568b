// Package tlsconfig builds the server-side TLS of MUTT's listeners from
// certificate files named by settings (<PREFIX>_CERT_FILE, _KEY_FILE,
// _CLIENT_CA_FILE, _CLIENT_AUTH): TLS 1.2 at least, optional client
// certificates (mTLS), and the files re-read when they change, so a
// certificate rotated by cert-manager applies without a restart.
//
// It is shared by every TLS listener (HTTP ingest, admin API, the syslog
// TLS receiver) and imports only internal/config.
package tlsconfig
