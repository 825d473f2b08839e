package dora

import (
	"encoding/json"
	"testing"
	"time"
)

func TestCommitTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2024, 5, 24, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name, meta string
		want       time.Time // zero: none
	}{
		{"none", ``, time.Time{}},
		{"no commit key", `{"vi_gh_workflow": "deploy"}`, time.Time{}},
		{"RFC 3339 (git %cI)", `{"vi_commit_timestamp": "2024-05-24T16:00:00+02:00"}`, want},
		{"git %ci", `{"commit_time": "2024-05-24 16:00:00 +0200"}`, want},
		{"Unix seconds, a number (git %ct)", `{"commit_timestamp": 1716559200}`, want},
		{"Unix seconds, a string", `{"scm_commit_timestamp": "1716559200"}`, want},
		{"Unix milliseconds", `{"commit_timestamp": 1716559200000}`, want},
		{"fractional seconds", `{"commit_timestamp": 1716559200.25}`, want.Add(250 * time.Millisecond)},
		{"nanoseconds are cut to microseconds", `{"commit_time": "2024-05-24T14:00:00.123456789Z"}`,
			want.Add(123456 * time.Microsecond)},
		{"the first valid key in preference order wins",
			`{"commit_time": "2020-01-01T00:00:00Z", "vi_commit_time": "2024-05-24T14:00:00Z"}`, want},
		{"a bad value is skipped for the next key", `{"vi_commit_timestamp": "soon", "commit_time": "2024-05-24T14:00:00Z"}`, want},
		{"no zone: refused", `{"commit_time": "2024-05-24T14:00:00"}`, time.Time{}},
		{"zero or negative: refused", `{"commit_timestamp": 0, "commit_time": -5}`, time.Time{}},
		{"before 1970: refused", `{"commit_time": "1969-12-31T23:59:59Z"}`, time.Time{}},
		{"far future: refused", `{"commit_timestamp": 999999999999}`, time.Time{}},
		{"wrong types: refused", `{"commit_time": true, "commit_timestamp": {"at": 1}, "vi_commit_time": null}`, time.Time{}},
		{"not an object", `["commit_time"]`, time.Time{}},
		{"invalid JSON", `{"commit_time": "2024-05-24T14:00:00Z"`, time.Time{}},
		{"other keys containing the word are not read", `{"commit": "2024-05-24T14:00:00Z", "last_commit_at": 1716559200}`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := CommitTime(json.RawMessage(tt.meta))
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Errorf("CommitTime(%s) = %s, %v; want %s", tt.meta, got, ok, tt.want)
			}
		})
	}
}

// FuzzCommitTime: any metadata gives no time or a time that survives the
// store and JSON.
func FuzzCommitTime(f *testing.F) {
	for _, s := range []string{`{"commit_time": "2024-05-24 16:00:00 +0200"}`, `{"commit_timestamp": 1716559200.5}`,
		`{"vi_commit_timestamp": "1716559200000"}`, `{"commit_time": "0001-01-01T00:00:00Z"}`, `{"commit_timestamp": 1e308}`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, meta []byte) {
		got, ok := CommitTime(meta)
		if !ok {
			if !got.IsZero() {
				t.Fatalf("no time but %s", got)
			}
			return
		}
		if got.Before(minBound) || got.After(maxBound) || got.Location() != time.UTC || got.Nanosecond()%1000 != 0 {
			t.Fatalf("time %s out of bounds or not UTC microseconds", got)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatal(err)
		}
	})
}
