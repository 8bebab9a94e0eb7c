package explain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
)

// decodeError turns an error of encoding/json over data into one that names the line and
// column of the problem and the JSON path of the field, in the vocabulary of the snapshot
// format (docs/snapshot.schema.json) rather than of its Go types. It walks data against the
// Snapshot type to find the first problem; encoding/json's own messages (which name Go types
// and give no position for unknown fields) are used only when the walk finds none.
func decodeError(data []byte, err error) error {
	if werr := checkDocument(data); werr != nil {
		return werr
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("line %d, column %d: %s", line, col, syn.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("line %d, column %d: the document ends before the JSON value does", line, col)
	}
	return errors.New("not a valid snapshot")
}

// lineCol returns the 1-based line and column (in bytes) of offset in data.
func lineCol(data []byte, offset int64) (int, int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// positionError is a problem at a position of the document.
type positionError struct {
	line, col int
	path      string
	msg       string
}

func (e *positionError) Error() string {
	if e.path == "" {
		return fmt.Sprintf("line %d, column %d: %s", e.line, e.col, e.msg)
	}
	return fmt.Sprintf("line %d, column %d: %s: %s", e.line, e.col, e.path, e.msg)
}

// walker reads the document token by token beside the Go type it decodes into.
type walker struct {
	data []byte
	dec  *json.Decoder
}

// checkDocument returns the first problem of data as a snapshot (syntax, unknown field, wrong
// type), or nil.
func checkDocument(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := &walker{data: data, dec: dec}
	return w.value(reflect.TypeFor[Snapshot](), "")
}

// next reads a token and returns it with its start offset.
func (w *walker) next() (json.Token, int64, error) {
	start := w.dec.InputOffset()
	for start < int64(len(w.data)) && strings.IndexByte(" \t\r\n:,", w.data[start]) >= 0 {
		start++
	}
	tok, err := w.dec.Token()
	if err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, 0, w.at(syn.Offset, "", syn.Error())
		}
		return nil, 0, w.at(int64(len(w.data)), "", "the document ends before the JSON value does")
	}
	return tok, start, nil
}

func (w *walker) at(offset int64, path, msg string) error {
	line, col := lineCol(w.data, offset)
	return &positionError{line: line, col: col, path: path, msg: msg}
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	bucketType   = reflect.TypeFor[analysis.Bucket]()
)

// value checks the next JSON value against t.
func (w *walker) value(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, pos, err := w.next()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // null leaves the field at its zero value
	}
	if d, ok := tok.(json.Delim); ok {
		switch {
		case d == '{' && t.Kind() == reflect.Struct && t != timeType:
			return w.object(t, path)
		case d == '{' && t.Kind() == reflect.Map:
			return w.mapping(t, path)
		case d == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
			return w.array(t, path)
		default:
			return w.at(pos, path, fmt.Sprintf("want %s, got %s", describeType(t), describeToken(tok)))
		}
	}
	if msg := checkScalar(t, tok); msg != "" {
		return w.at(pos, path, msg)
	}
	return nil
}

// object checks the members of a JSON object decoded into struct t; the '{' is read.
func (w *walker) object(t reflect.Type, path string) error {
	fields := jsonFields(t)
	for w.dec.More() {
		tok, pos, err := w.next()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		ft, ok := lookupField(fields, key)
		if !ok {
			return w.at(pos, path, fmt.Sprintf("unknown field %q (known: %s)", key, strings.Join(sortedKeys(fields), ", ")))
		}
		sub := key
		if path != "" {
			sub = path + "." + key
		}
		if t == bucketType && key == "le" {
			if err := w.bound(sub); err != nil {
				return err
			}
			continue
		}
		if err := w.value(ft, sub); err != nil {
			return err
		}
	}
	_, _, err := w.next() // '}'
	return err
}

// bound checks a histogram bucket bound: a number or "+Inf".
func (w *walker) bound(path string) error {
	tok, pos, err := w.next()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Number:
		return nil
	case string:
		if v == "+Inf" || v == "Inf" {
			return nil
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return nil
		}
	}
	return w.at(pos, path, fmt.Sprintf(`want a number or "+Inf", got %s`, describeToken(tok)))
}

// mapping checks the members of a JSON object decoded into map t; the '{' is read.
func (w *walker) mapping(t reflect.Type, path string) error {
	for w.dec.More() {
		tok, _, err := w.next()
		if err != nil {
			return err
		}
		if err := w.value(t.Elem(), fmt.Sprintf("%s[%q]", path, tok)); err != nil {
			return err
		}
	}
	_, _, err := w.next()
	return err
}

// array checks the elements of a JSON array decoded into slice t; the '[' is read.
func (w *walker) array(t reflect.Type, path string) error {
	for i := 0; w.dec.More(); i++ {
		if err := w.value(t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	_, _, err := w.next()
	return err
}

// checkScalar returns why tok cannot be decoded into t, or "".
func checkScalar(t reflect.Type, tok json.Token) string {
	want := func() string { return fmt.Sprintf("want %s, got %s", describeType(t), describeToken(tok)) }
	switch v := tok.(type) {
	case string:
		if t == timeType {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				return fmt.Sprintf("want %s, got %q", describeType(t), v)
			}
			return ""
		}
		if t.Kind() != reflect.String && t.Kind() != reflect.Interface {
			return want()
		}
	case json.Number:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if _, err := strconv.ParseInt(v.String(), 10, t.Bits()); err != nil {
				return want()
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if _, err := strconv.ParseUint(v.String(), 10, t.Bits()); err != nil {
				return want()
			}
		case reflect.Float32, reflect.Float64:
			if _, err := strconv.ParseFloat(v.String(), t.Bits()); err != nil {
				return want()
			}
		case reflect.Interface:
		default:
			return want()
		}
	case bool:
		if t.Kind() != reflect.Bool && t.Kind() != reflect.Interface {
			return want()
		}
	}
	return ""
}

// describeType names what the snapshot format expects where Go decodes into t.
func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "an integer number of nanoseconds"
	case t == timeType:
		return "an RFC 3339 time such as \"2026-03-01T12:00:00Z\""
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "a value"
	}
}

// describeToken names a JSON token for an error message.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		return "null"
	}
}

// jsonFields returns the JSON member names of struct t and their types, as encoding/json
// decodes them (embedded structs without a tag are flattened).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// lookupField finds key among fields as encoding/json does: the exact name, else one that
// differs only in case.
func lookupField(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
