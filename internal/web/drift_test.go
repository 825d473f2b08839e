package web

import (
	"fmt"
	"slices"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// cell is a product's environment running version (status completed);
// version "" is an environment where nothing completed yet.
func cell(env string, typ shiplog.EnvType, version string) *apiv1.StatusCell {
	c := &apiv1.StatusCell{ProductName: "api", EnvironmentName: env, EnvironmentType: typ}
	if version != "" {
		c.Current = &apiv1.StatusDeployment{DeploymentID: env + version, Version: version, Status: shiplog.StatusCompleted}
		c.Latest = c.Current
	}
	return c
}

func TestDriftOnlyAcrossEnvironmentsOfOneType(t *testing.T) {
	t.Parallel()
	const (
		dev, stg, prod = shiplog.EnvDevelopment, shiplog.EnvStaging, shiplog.EnvProduction
	)
	tests := []struct {
		name  string
		cells []*apiv1.StatusCell
		want  []string
	}{
		{"nothing deployed", nil, nil},
		{"one environment", []*apiv1.StatusCell{cell("production", prod, "1.0.0")}, nil},
		{"promotion: dev and staging ahead of production is not drift",
			[]*apiv1.StatusCell{cell("dev", dev, "1.2.0"), cell("staging", stg, "1.1.0"), cell("production", prod, "1.0.0")}, nil},
		{"two production regions on one version",
			[]*apiv1.StatusCell{cell("prod-eu", prod, "1.0.0"), cell("prod-us", prod, "1.0.0"), cell("staging", stg, "1.1.0")}, nil},
		{"two production regions split",
			[]*apiv1.StatusCell{cell("prod-eu", prod, "1.4.0"), cell("prod-us", prod, "1.5.0"), cell("staging", stg, "1.5.0")},
			[]string{"production: 1.4.0 ≠ 1.5.0"}},
		{"a region with nothing completed yet is new, not split",
			[]*apiv1.StatusCell{cell("prod-eu", prod, "1.4.0"), cell("prod-ap", prod, "")}, nil},
		{"splits in two types, in the order code travels, versions sorted",
			[]*apiv1.StatusCell{cell("prod-us", prod, "2.0.0"), cell("prod-eu", prod, "1.9.0"), cell("prod-ap", prod, "2.0.0"),
				cell("stg-b", stg, "2.1.0"), cell("stg-a", stg, "2.0.0"), nil},
			[]string{"staging: 2.0.0 ≠ 2.1.0", "production: 1.9.0 ≠ 2.0.0"}},
		{"a type of the org's own is compared within itself",
			[]*apiv1.StatusCell{cell("edge-1", "edge", "3"), cell("edge-2", "edge", "4"), cell("production", prod, "4")},
			[]string{"edge: 3 ≠ 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, d := range driftOf(tt.cells) {
				got = append(got, d.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("driftOf = %q, want %q", got, tt.want)
			}
		})
	}
}

// The matrix marks the split cells and the row, and the drift filter keeps
// only such rows; a failed or refused newest attempt is the cell's state.
func TestMatrixDriftAndAttempts(t *testing.T) {
	t.Parallel()
	failed := "failed"
	cells := []apiv1.StatusCell{
		*cell("prod-eu", shiplog.EnvProduction, "1.4.0"), *cell("prod-us", shiplog.EnvProduction, "1.5.0"),
		*cell("staging", shiplog.EnvStaging, "1.6.0"),
	}
	web := []*apiv1.StatusCell{cell("prod-eu", shiplog.EnvProduction, "2.0.0"), cell("staging", shiplog.EnvStaging, "2.1.0"),
		cell("prod-us", shiplog.EnvProduction, "2.0.0")}
	web[0].Latest = &apiv1.StatusDeployment{DeploymentID: "x", Version: "2.1.0", Status: shiplog.StatusAborted, PreflightStatus: &failed}
	web[2].Latest = &apiv1.StatusDeployment{DeploymentID: "y", Version: "2.1.0", Status: shiplog.StatusFailed}
	for _, c := range web {
		c.ProductName = "web"
		cells = append(cells, *c)
	}
	m := buildMatrix(cells, homeFilter{}, 1)
	var got []string
	for _, row := range m.Rows {
		line := fmt.Sprintf("%s drift=%d:", row.Product, len(row.Drift))
		for _, c := range row.Cells {
			line += fmt.Sprintf(" %s/%s/%v", c.Env.Name, c.State(), c.Drift)
		}
		got = append(got, line)
	}
	want := []string{
		"api drift=1: staging/ok/false prod-eu/ok/true prod-us/ok/true",
		"web drift=0: staging/ok/false prod-eu/blocked/false prod-us/failed/false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("matrix:\n%q\nwant\n%q", got, want)
	}
	if m := buildMatrix(cells, homeFilter{Drift: true}, 1); len(m.Rows) != 1 || m.Rows[0].Product != "api" {
		t.Errorf("drift filter keeps %d rows, want api alone", len(m.Rows))
	}
}
