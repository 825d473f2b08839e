package httpapi

import (
	"slices"
	"testing"

	"github.com/shiplog/shiplog"
)

func TestDeliveryStates(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []shiplog.DeliveryState
		bad  bool
	}{
		{in: ""},
		{in: "failed", want: []shiplog.DeliveryState{shiplog.DeliveryFailed}},
		{in: " failed , queued,failed,", want: []shiplog.DeliveryState{shiplog.DeliveryFailed, shiplog.DeliveryQueued}},
		{in: "FAILED", bad: true},
		{in: "failed,lost", bad: true},
	} {
		got, err := deliveryStates(tc.in)
		if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
			t.Errorf("deliveryStates(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// FuzzDeliveryStates: the log's state filter either refuses or returns
// known states, each once.
func FuzzDeliveryStates(f *testing.F) {
	for _, s := range []string{"", "failed", "failed,queued", "succeeded,,cancelled ", "nope"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got, err := deliveryStates(q)
		if err != nil {
			return
		}
		seen := map[shiplog.DeliveryState]bool{}
		for _, st := range got {
			switch st {
			case shiplog.DeliveryQueued, shiplog.DeliverySucceeded, shiplog.DeliveryFailed, shiplog.DeliveryCancelled:
			default:
				t.Fatalf("%q gave state %q", q, st)
			}
			if seen[st] {
				t.Fatalf("%q gave %q twice", q, st)
			}
			seen[st] = true
		}
	})
}
