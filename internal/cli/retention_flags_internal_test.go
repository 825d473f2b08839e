package cli

import (
	"reflect"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/retention"
)

// The serve flags' defaults are written in struct tags; they must say what
// the retention package documents.
func TestRetentionFlagDefaults(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[retentionFlags]()
	for _, tt := range []struct {
		field string
		want  time.Duration
	}{
		{"RetainEvents", retention.DefaultEvents},
		{"RetainDeliveries", retention.DefaultDeliveries},
		{"PruneInterval", retention.DefaultInterval},
	} {
		f, ok := typ.FieldByName(tt.field)
		if !ok {
			t.Fatalf("no field %s", tt.field)
		}
		got, err := retention.ParseAge(f.Tag.Get("default"))
		if err != nil || got != tt.want {
			t.Errorf("%s default %q = %v (%v); want %v", tt.field, f.Tag.Get("default"), got, err, tt.want)
		}
	}
}
