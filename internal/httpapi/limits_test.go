package httpapi

import (
	_ "github.com/shiplog/shiplog/internal/notify/kinds" // the channel kinds
	"os"
	"strings"
	"testing"
)

// TestBodyLimitsDocumented: every entry of the limits table is an operation
// the API routes, and docs/api.md lists it.
func TestBodyLimitsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for k := range bodyLimits {
		if _, ok := accessByKey[k]; !ok {
			t.Errorf("limits table entry %q is no operation of the permission table", k)
		}
		if !strings.Contains(string(doc), "`"+k+"`") && !strings.Contains(string(doc), "`"+k+"/`") {
			t.Errorf("docs/api.md does not list the limits of %s", k)
		}
	}
}
