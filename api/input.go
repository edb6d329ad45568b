package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

// Input and write-outcome helpers shared by the rule, dev-host and team handlers.

// readOnlyFields are what GET returns but a write cannot change; accepted
// and ignored so a client may send back what it read. Any other unknown
// field is a 400, so a typo ("priorty") is not silently dropped.
type readOnlyFields struct {
	ID        json.RawMessage `json:"id"`
	CreatedAt json.RawMessage `json:"created_at"`
	UpdatedAt json.RawMessage `json:"updated_at"`
}

// reasonField is the audit reason of a write body (or, when the body has
// none, the X-Change-Reason header); decodeResourceBody checks it for every
// body that embeds it.
type reasonField struct {
	Reason string `json:"reason"`
}

func (r reasonField) reason() string { return r.Reason }

// unknownField matches encoding/json's error for a field DisallowUnknownFields refuses.
var unknownField = regexp.MustCompile(`^json: unknown field "(.*)"$`)

// decodeResourceBody decodes a body into v; a malformed body or a wrongly typed field is
// a 400 that names the field.
func decodeResourceBody(c *gin.Context, v any) bool {
	if !decodeStrictBody(c, v) {
		return false
	}
	if r, ok := v.(interface{ reason() string }); ok {
		if err := checkReason(changeReason(c, r.reason())); err != nil {
			answerInvalid(c, err)
			return false
		}
	}
	return true
}

// decodeStrictBody is decodeResourceBody without the reason check, for a
// body that changes nothing (POST /rules/test).
func decodeStrictBody(c *gin.Context, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var tooBig *http.MaxBytesError
		switch m := unknownField.FindStringSubmatch(err.Error()); {
		case errors.As(err, &tooBig):
			abort(c, http.StatusRequestEntityTooLarge, errBodyTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBody))
		case m != nil:
			abort(c, http.StatusBadRequest, errInvalidField, "unknown field "+quoteShort(m[1]))
		case errors.As(err, &te) && te.Field != "":
			abort(c, http.StatusBadRequest, errInvalidField, fmt.Sprintf("%s: must be of type %s", fieldPath(reflect.TypeOf(v), te.Field), te.Type))
		case errors.As(err, &te), errors.Is(err, io.EOF): // an array, string, number… or nothing
			abort(c, http.StatusBadRequest, errInvalidBody, "request body must be a JSON object")
		default:
			abort(c, http.StatusBadRequest, errInvalidBody, "malformed JSON body")
		}
		return false
	}
	if !atEOF(dec) {
		abort(c, http.StatusBadRequest, errInvalidBody, "malformed JSON body: data after the JSON object")
		return false
	}
	return true
}

// fieldPath names the field at path (encoding/json's UnmarshalTypeError.Field:
// names and indexes joined by dots, each name as the client spelled it) as the
// API documents it: a struct field by its JSON name, which encoding/json also
// matches case-insensitively ("idS" is "ids"), an element by its index in
// brackets — "ids[0]", the form the handlers' own checks use. A map key stays
// as sent; what the type does not explain is kept as it is.
func fieldPath(t reflect.Type, path string) string {
	segs := strings.Split(path, ".")
	out := ""
	for i, seg := range segs {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array:
			out += "[" + seg + "]"
			t = t.Elem()
			continue
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			name, ft, ok := jsonField(t, seg)
			if !ok {
				return dotted(out, strings.Join(segs[i:], "."))
			}
			seg, t = name, ft
		default:
			return dotted(out, strings.Join(segs[i:], "."))
		}
		out = dotted(out, seg)
	}
	return out
}

// dotted is path with name after it.
func dotted(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// jsonField finds the field of struct type t that encoding/json decodes key
// into (its exact JSON name first, then one equal but for case) and returns
// its JSON name and type.
func jsonField(t reflect.Type, key string) (string, reflect.Type, bool) {
	var foldName string
	var foldType reflect.Type
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case name == "":
			name = f.Name
		}
		if name == key {
			return name, f.Type, true
		}
		if foldName == "" && strings.EqualFold(name, key) {
			foldName, foldType = name, f.Type
		}
	}
	return foldName, foldType, foldName != ""
}

// bufferBody reads the request body (at most maxBody) and puts it back, so
// a handler can decode it twice; false when it answered (413, 400).
func bufferBody(c *gin.Context) ([]byte, bool) {
	if c.Request.Body == nil {
		return nil, true
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			abort(c, http.StatusRequestEntityTooLarge, errBodyTooLarge, fmt.Sprintf("request body exceeds %d bytes", maxBody))
		} else {
			abort(c, http.StatusBadRequest, errInvalidBody, "request body could not be read")
		}
		return nil, false
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(b))
	return b, true
}

// atEOF reports whether only white space is left after the decoded value.
func atEOF(dec *json.Decoder) bool {
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

// fieldErr is a validation failure that names its field.
type fieldErr struct{ field, msg string }

func (e *fieldErr) Error() string { return e.field + ": " + e.msg }

func answerInvalid(c *gin.Context, err error) {
	var fe *fieldErr
	if errors.As(err, &fe) {
		abort(c, http.StatusBadRequest, errInvalidField, fe.Error())
		return
	}
	abort(c, http.StatusBadRequest, errInvalidBody, err.Error())
}

func cleanText(field string, v *string, required bool, max int) (*string, error) {
	if v == nil {
		if required {
			return nil, &fieldErr{field, "is required"}
		}
		return nil, nil
	}
	t := strings.TrimSpace(*v)
	if t == "" {
		if required {
			return nil, &fieldErr{field, "must not be empty"}
		}
		return nil, nil
	}
	if len(t) > max {
		return nil, &fieldErr{field, fmt.Sprintf("must be at most %d characters", max)}
	}
	if strings.ContainsRune(t, 0) {
		return nil, &fieldErr{field, "must not contain NUL characters"}
	}
	return &t, nil
}

// deleteReason reads the DELETE body {"reason": …} (a present body must be
// valid), falling back to the X-Change-Reason header; one of them must carry
// a reason.
func deleteReason(c *gin.Context) (string, bool) {
	var body struct {
		Reason string `json:"reason"`
	}
	if c.Request.ContentLength != 0 && c.Request.Body != nil {
		dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); (err != nil && !errors.Is(err, io.EOF)) || (err == nil && !atEOF(dec)) {
			abort(c, http.StatusBadRequest, errInvalidBody, `malformed JSON body: expected nothing or {"reason": "…"}`)
			return "", false
		}
	}
	reason := changeReason(c, body.Reason)
	if err := checkReason(reason); err != nil {
		answerInvalid(c, err)
		return "", false
	}
	return reason, true
}

// errNoReason is the refusal of a change without a reason: every change is
// audited, and an audit row that says nothing (or only blanks) explains
// nothing to whoever reads it later.
var errNoReason = &fieldErr{"reason", "is required: say why you make this change " +
	"(the body's reason field or the X-Change-Reason header; blanks alone do not count)"}

// checkReason refuses a missing or blank audit reason and one PostgreSQL
// cannot store. reason is what changeReason returns (already trimmed).
func checkReason(reason string) error {
	if reason == "" {
		return errNoReason
	}
	if strings.ContainsRune(reason, 0) {
		return &fieldErr{"reason", "must not contain NUL characters"}
	}
	if len(reason) > maxReason {
		return &fieldErr{"reason", fmt.Sprintf("must be at most %d characters", maxReason)}
	}
	return nil
}

// changeReason is the body's reason, else the X-Change-Reason header (whose
// bytes need not be UTF-8; PostgreSQL stores only UTF-8), without surrounding
// white space; "" when neither carries more than blanks.
func changeReason(c *gin.Context, body string) string {
	if r := strings.TrimSpace(body); r != "" {
		return r
	}
	return strings.TrimSpace(strings.ToValidUTF8(c.GetHeader("X-Change-Reason"), "\uFFFD"))
}

// writeRefused carries the HTTP status of a failed concurrency check.
type writeRefused struct {
	status  int
	code    string
	message string
}

func (e *writeRefused) Error() string { return e.message }

// answerWriteError answers a failed write transaction: a precondition error keeps
// its status, anything else is a 503 without database text.
func (s *Server) answerWriteError(c *gin.Context, what string, err error) bool {
	if err == nil {
		return false
	}
	var pe *writeRefused
	if errors.As(err, &pe) {
		abort(c, pe.status, pe.code, pe.message)
		return true
	}
	s.dbFailure(c, what, err)
	return true
}

// dbFailure logs the real error and answers a 503 without database text:
// what reaches here is PostgreSQL being unreachable or refusing the write
// (input problems are 4xx before the query), and the request may be retried.
func (s *Server) dbFailure(c *gin.Context, what string, err error) {
	s.o.Log.ErrorContext(c, what+" failed", "component", "api", "correlation_id", correlationID(c), "err", err)
	abort(c, http.StatusServiceUnavailable, errUnavailable,
		what+" failed: the database is unavailable; try again later, or quote the correlation id to an operator")
}
