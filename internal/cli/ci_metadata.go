package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shiplog/shiplog/internal/ingest"
)

// metadata is an extra_metadata object whose values are kept as written.
type metadata map[string]json.RawMessage

// parseMetadata reads --extra-metadata: one JSON object, nothing after it.
// Empty means none.
func parseMetadata(s string) (metadata, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	var m metadata
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("--extra-metadata must be a JSON object, like '{\"ticket\": \"OPS-1\"}'%s", jsonWhy(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("--extra-metadata must be one JSON object, with nothing after it")
	}
	return m, nil
}

func jsonWhy(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf(" (%v at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf(" (got a JSON %s)", te.Value)
	case err != nil:
		return fmt.Sprintf(" (%v)", err)
	}
	return " (got null)"
}

// strings adds string values, skipping empty ones.
func (m metadata) strings(kv map[string]string) metadata {
	for k, v := range kv {
		if v != "" {
			b, _ := json.Marshal(v)
			m[k] = b
		}
	}
	return m
}

// set adds one value of any JSON type.
func (m metadata) set(k string, v any) metadata {
	b, err := json.Marshal(v)
	if err == nil {
		m[k] = b
	}
	return m
}

// mergeMetadata merges objects, later keys winning, and checks the size the
// server accepts. No keys: nil (the field is left out).
func mergeMetadata(layers ...metadata) (json.RawMessage, error) {
	all := metadata{}
	for _, l := range layers {
		for k, v := range l {
			all[k] = v
		}
	}
	if len(all) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(all)
	if err != nil {
		return nil, fmt.Errorf("extra metadata: %w", err)
	}
	if len(b) > ingest.MaxMetadataBytes {
		return nil, fmt.Errorf("extra metadata is %d bytes; the limit is %d KiB", len(b), ingest.MaxMetadataBytes>>10)
	}
	return b, nil
}
