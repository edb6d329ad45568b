package api

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFieldPathNamesTheDocumentedField(t *testing.T) {
	t.Parallel()
	type item struct {
		Name string `json:"name"`
	}
	type body struct {
		Items  []item         `json:"items"`
		Values map[string]int `json:"values"`
		Plain  int
		Hidden int `json:"-"`
		reasonField
	}
	typ := reflect.TypeOf(&body{})
	for path, want := range map[string]string{
		"items":          "items",
		"ITEMS.2.Name":   "items[2].name",  // encoding/json matched the names case-insensitively
		"values.SomeKey": "values.SomeKey", // a map key stays as the client sent it
		"plain":          "Plain",          // no tag: the Go name
		"Reason":         "reason",         // promoted from the embedded struct
		"Hidden":         "Hidden",         // never decoded: kept as it is
		"nope.x":         "nope.x",
	} {
		assert.Equal(t, want, fieldPath(typ, path), path)
	}
}
