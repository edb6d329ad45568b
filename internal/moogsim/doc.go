// Package moogsim is a small stand-in for the Moogsoft event webhook, used by
// `mutt moog-sim`, `mutt dev`, the benchmark and the forwarder's tests. It
// accepts what the forwarder sends (one event object or {"events":[...]}),
// records what it received (counts, per-external_id counts, the last few
// events), answers /stats, and can be told to fail or to answer slowly so
// retries, timeouts and the circuit breaker can be exercised. A fault applies
// to the whole webhook, as a real outage does: a health probe (HEAD or GET of
// an event path, as DLQ remediation sends) gets the injected status too.
//
// Every event request is kept as an Arrival (time, answer, Retry-After), so a
// test can check at the webhook that clients honoured a Retry-After
// (EarlyRequests); record_late plays a webhook that processed a request but
// answered after the client had timed out, whose retry is a duplicate.
//
// It is pure HTTP: it must not import Redis, PostgreSQL or any hotpath package,
// so the forwarder is tested against it exactly as against a real webhook.
package moogsim
