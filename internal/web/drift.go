package web

import (
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// Drift is a product whose environments of one type run different
// versions: two production regions on 1.4 and 1.5. A version ahead in
// development or staging is not drift, it is the way code travels to
// production; flagging it would mark nearly every row and hide the one
// split that matters.
type Drift struct {
	Type     shiplog.EnvType
	Versions []string // the distinct current versions, sorted
}

// String is how the matrix names it: "production: 1.4.0 ≠ 1.5.0".
func (d Drift) String() string {
	return string(d.Type) + ": " + strings.Join(d.Versions, " ≠ ")
}

// driftOf compares, type by type, the versions deployed now (Current) in a
// product's environments. Environments with nothing completed yet do not
// take part: an empty region is new, not split. Types come back in the
// order code travels (envOrder), others after them by name.
func driftOf(cells []*apiv1.StatusCell) []Drift {
	byType := map[shiplog.EnvType][]string{}
	for _, c := range cells {
		if c == nil || c.Current == nil {
			continue
		}
		if !slices.Contains(byType[c.EnvironmentType], c.Current.Version) {
			byType[c.EnvironmentType] = append(byType[c.EnvironmentType], c.Current.Version)
		}
	}
	var out []Drift
	for t, versions := range byType {
		if len(versions) > 1 {
			slices.Sort(versions)
			out = append(out, Drift{Type: t, Versions: versions})
		}
	}
	slices.SortFunc(out, func(a, b Drift) int {
		if ra, rb := rank(a.Type), rank(b.Type); ra != rb {
			return ra - rb
		}
		return strings.Compare(string(a.Type), string(b.Type))
	})
	return out
}
