// Package jsonenc is the hand-written JSON code the hot path shares: an
// encoder for strings and times that writes exactly what encoding/json writes
// (without HTML escaping), a validator that answers exactly as json.Valid
// does but several times faster, CheckValue (the same check with depth and
// string-length limits, the ingestor's one pass over a posted event), Object
// (checks and splits an object in one pass, the alerter's and the
// forwarder's stream decoders), and a scanner that walks the members of an
// object or the elements of an array already known to be valid. It is the
// hot path's one JSON scanner.
//
// It exists because encoding/json was the largest cost of reading and writing
// events on the hot path; every function here is tested against encoding/json
// (differential tests and fuzz targets), so callers can rely on getting the
// same bytes or the same answer. Anything that needs a decoded Go value still
// goes through encoding/json.
//
// It must import only the standard library.
package jsonenc
