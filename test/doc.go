// Package test holds end-to-end and acceptance tests: the whole hot path run
// in-process through app (what cmd/mutt runs), and the mutt binary run as a user runs
// it (`mutt dev`), against the real Redis and PostgreSQL.
package test
