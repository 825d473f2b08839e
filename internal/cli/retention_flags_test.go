package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRetentionFlagsRefused(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--retain-events", "30m"}, `--retain-events: invalid age "30m": at least 1h, or 0 to keep forever`},
		{[]string{"--retain-deliveries", "1y"}, `--retain-deliveries: invalid age "1y"`},
		{[]string{"--retain-deliveries=-3d"}, `--retain-deliveries: invalid age "-3d"`},
		{[]string{"--prune-interval", "5s"}, "--prune-interval 5s is too short: at least 1m"},
	} {
		code, _, errs := run(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, tt.args...)...)
		if code != 1 || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, code, errs, tt.want)
		}
	}
}
