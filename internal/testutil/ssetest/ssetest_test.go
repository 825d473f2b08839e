package ssetest

import (
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in string
		want     []Frame
	}{
		{"event", "id: 7\nevent: build.completed\ndata: {\"a\":1}\n\n",
			[]Frame{{ID: "7", HasID: true, Event: "build.completed", Data: `{"a":1}`}}},
		{"crlf and cr", "id: 1\r\ndata: x\r\rdata: y\r\n\r\n",
			[]Frame{{ID: "1", HasID: true, Data: "x"}, {Data: "y"}}},
		{"multi-line data, no space", "data:a\ndata: b\n\n", []Frame{{Data: "a\nb"}}},
		{"comment and retry", ": heartbeat\nretry: 3000\n\n", []Frame{{Comments: []string{"heartbeat"}, Retry: "3000"}}},
		{"empty id", "id:\n\n", []Frame{{HasID: true}}},
		{"unfinished frame dropped", "data: x\n\ndata: cut", []Frame{{Data: "x"}}},
		{"blank lines between", "\n\n\ndata: x\n\n\n", []Frame{{Data: "x"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := readAll(t, c.in)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("frames\n\t%+v\nwant\n\t%+v", got, c.want)
			}
		})
	}
}

func readAll(t *testing.T, in string) []Frame {
	r := NewReader(strings.NewReader(in))
	var out []Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, f)
	}
}

// No input makes the reader fail, and no field but data holds a line end.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"id: 1\nevent: x\ndata: y\n\n", ": c\r\n\r\n", "data\rdata:\n\n", "\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, fr := range readAll(t, in) {
			for _, v := range append([]string{fr.ID, fr.Event, fr.Retry, fr.Data}, fr.Comments...) {
				if strings.ContainsAny(v, "\r") || (v != fr.Data && strings.Contains(v, "\n")) {
					t.Fatalf("field %q holds a line end (input %q)", v, in)
				}
			}
		}
	})
}
