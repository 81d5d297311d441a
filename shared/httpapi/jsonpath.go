package httpapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// encoding/json names only the leaf of an unknown field, and names a mistyped field by its
// dotted path without array indices. The functions below find the full path of the member at
// fault, such as client.mobile or services[1].id, by walking the body's tokens beside the Go
// type it was decoded into. The decoder reports the first problem in document order, so the
// first member that matches the report is the one at fault.

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// jsonMember is one value met during the walk.
type jsonMember struct {
	path    string       // client.phone, services[1].id; "" for the body itself
	name    string       // the member's name in its object; "" for an array element
	field   string       // path as json.UnmarshalTypeError names it: no indices or map keys
	typ     reflect.Type // the Go type the value decodes into; nil for an unknown member
	kind    string       // the JSON kind: object, array, string, number, bool or null
	unknown bool         // the member's name matches no field of its object's struct
}

// jsonWalk walks a body that decoded into a Go type and stops at the first member for which
// match returns true.
type jsonWalk struct {
	dec   *json.Decoder
	match func(jsonMember) bool
	found string
	done  bool
}

// findJSONPath returns the path of the first member of body, decoded into t, that match
// accepts, and false when none does or the body cannot be walked.
func findJSONPath(body []byte, t reflect.Type, match func(jsonMember) bool) (string, bool) {
	w := &jsonWalk{dec: json.NewDecoder(strings.NewReader(string(body))), match: match}
	w.dec.UseNumber()
	if err := w.value(at{}, "", t, false); err != nil {
		return "", false
	}
	return w.found, w.done
}

// unknownFieldPath returns the path of the first member named name that t does not know.
func unknownFieldPath(body []byte, t reflect.Type, name string) (string, bool) {
	return findJSONPath(body, t, func(m jsonMember) bool {
		return m.unknown && m.name == name
	})
}

// typeErrorPath returns the path, with array indices, of the first value of kind whose dotted
// path without indices is field, which is how json.UnmarshalTypeError names it.
func typeErrorPath(body []byte, t reflect.Type, field, kind string) (string, bool) {
	return findJSONPath(body, t, func(m jsonMember) bool {
		return !m.unknown && m.kind == kind && strings.EqualFold(m.field, field)
	})
}

// at is a place in the body: its full path and the path encoding/json reports for it.
type at struct {
	path, field string
}

func (a at) member(name string) at {
	if a.path == "" {
		return at{path: name, field: name}
	}
	return at{path: a.path + "." + name, field: a.field + "." + name}
}

func (a at) mapValue(key string) at {
	if a.path == "" {
		return at{path: key, field: a.field}
	}
	return at{path: a.path + "." + key, field: a.field}
}

func (a at) element(i int) at {
	return at{path: a.path + "[" + strconv.Itoa(i) + "]", field: a.field}
}

// value reads the value of the member called name at pos, which decodes into t (nil when
// nothing decodes it).
func (w *jsonWalk) value(pos at, name string, t reflect.Type, unknown bool) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer && !decodesItself(t) {
		t = t.Elem()
	}
	m := jsonMember{path: pos.path, name: name, field: pos.field, typ: t, kind: tokenKind(tok), unknown: unknown}
	if w.match(m) {
		w.found, w.done = pos.path, true
		return nil
	}
	if decodesItself(t) {
		t = nil
	}

	switch tok {
	case json.Delim('{'):
		return w.object(pos, t)
	case json.Delim('['):
		return w.array(pos, t)
	}
	return nil
}

// object reads the members of an object up to its closing brace.
func (w *jsonWalk) object(pos at, t reflect.Type) error {
	for !w.done && w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		child := pos.member(name)

		var member reflect.Type
		unknown := false
		switch {
		case t == nil:
		case t.Kind() == reflect.Struct:
			var known bool
			member, known = structField(t, name)
			unknown = !known
		case t.Kind() == reflect.Map:
			member, child = t.Elem(), pos.mapValue(name)
		}
		if err := w.value(child, name, member, unknown); err != nil {
			return err
		}
	}
	if w.done {
		return nil
	}
	_, err := w.dec.Token()
	return err
}

// array reads the elements of an array up to its closing bracket.
func (w *jsonWalk) array(pos at, t reflect.Type) error {
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; !w.done && w.dec.More(); i++ {
		if err := w.value(pos.element(i), "", elem, false); err != nil {
			return err
		}
	}
	if w.done {
		return nil
	}
	_, err := w.dec.Token()
	return err
}

// structField returns the type of t's field that a member called name decodes into. Like
// encoding/json it prefers an exact match of the name, then one that ignores case, and looks
// into embedded structs.
func structField(t reflect.Type, name string) (reflect.Type, bool) {
	var folded reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		tagName, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && tagName == "" {
			embedded := f.Type
			if embedded.Kind() == reflect.Pointer {
				embedded = embedded.Elem()
			}
			if embedded.Kind() == reflect.Struct {
				if ft, ok := structField(embedded, name); ok {
					return ft, true
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if tagName == "" {
			tagName = f.Name
		}
		if tagName == name {
			return f.Type, true
		}
		if folded == nil && strings.EqualFold(tagName, name) {
			folded = f.Type
		}
	}
	return folded, folded != nil
}

// decodesItself reports whether t, or a pointer to it, has its own JSON or text decoding, whose
// members the walk cannot know.
func decodesItself(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if t.Kind() == reflect.Interface {
		return true
	}
	p := reflect.PointerTo(t)
	return t.Implements(jsonUnmarshalerType) || p.Implements(jsonUnmarshalerType) ||
		t.Implements(textUnmarshalerType) || p.Implements(textUnmarshalerType)
}

// tokenKind names a token's JSON kind as json.UnmarshalTypeError does.
func tokenKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('{') {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	default:
		return "null"
	}
}
