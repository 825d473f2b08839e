package dora

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// CommitKeys are the extra_metadata keys read for a change's commit time,
// in order of preference: the first that holds a valid time wins. vi_* is
// how the CI client names what it adds; the others are names pipelines
// already use. All of them contain "commit", which the store relies on to
// skip reading metadata that cannot hold one.
var CommitKeys = []string{
	"vi_commit_timestamp", "vi_commit_time",
	"scm_commit_timestamp", "scm_commit_time",
	"commit_timestamp", "commit_time",
}

// CommitTime reads the commit time from an extra_metadata object. Accepted
// values: an RFC 3339 timestamp (git log --format=%cI), git's default
// "2006-01-02 15:04:05 -0700" (%ci), or Unix seconds as a number or a
// string of digits (%ct); a number of 10^12 or more is read as
// milliseconds (JavaScript's Date.now()). Times before 1970 or after 9999
// are refused. A key holding anything else is skipped, not an error: the
// metadata belongs to the pipeline, and a bad value must not fail a report.
func CommitTime(meta json.RawMessage) (time.Time, bool) {
	if !bytes.Contains(meta, []byte("commit")) {
		return time.Time{}, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(meta, &m); err != nil {
		return time.Time{}, false
	}
	for _, k := range CommitKeys {
		if t, ok := commitValue(m[k]); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

func commitValue(raw json.RawMessage) (time.Time, bool) {
	if len(raw) == 0 {
		return time.Time{}, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return time.Time{}, false
		}
		return commitString(strings.TrimSpace(s))
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return time.Time{}, false
	}
	return unixTime(string(n))
}

func commitString(s string) (time.Time, bool) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		return unixTime(s)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return bounded(t)
		}
	}
	return time.Time{}, false
}

// unixTime reads whole or fractional Unix seconds (milliseconds from 10^12).
func unixTime(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f >= 1e15 {
		return time.Time{}, false
	}
	if f >= 1e12 {
		f /= 1000
	}
	sec := int64(f)
	return bounded(time.Unix(sec, int64((f-float64(sec))*1e9)))
}

func bounded(t time.Time) (time.Time, bool) {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(minBound) || t.After(maxBound) {
		return time.Time{}, false
	}
	return t, true
}
