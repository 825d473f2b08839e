package web

import (
	"net/url"
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// maxItemRows bounds the rows "Add another item" may grow the form to (the
// API accepts at most 100 items).
const maxItemRows = 100

// Slot choices on the new-request form, one per approval type.
const (
	slotNone     = ""
	slotRequired = "required"
	slotOptional = "optional"
)

// drForm is the new-request form as typed, to show it again on a refusal.
type drForm struct {
	Name, Description, Links string
	Items                    []shiplog.DRItem // rows as typed, blanks included
	Envs                     []string         // the known environments ticked
	OtherEnvs                string           // more names, separated by commas
	Slots                    map[string]string
}

// parseDRForm reads the new-request form into the API's body. It only
// reshapes what was typed (rows, lists, choices); the API judges it, so
// the rules and their messages live in one place. The one refusal here is
// a slot choice the form never offers.
func parseDRForm(form url.Values) (drForm, apiv1.DRInput, error) {
	f := drForm{Name: strings.TrimSpace(form.Get("name")), Description: strings.TrimSpace(form.Get("description")),
		Links: form.Get("links"), OtherEnvs: form.Get("other_environments"), Slots: map[string]string{}}
	in := apiv1.DRInput{Name: f.Name, Description: f.Description, Links: []string{}, Items: []shiplog.DRItem{},
		EnvironmentNames: []string{}, ApprovalSlots: []apiv1.SlotInput{}}
	in.Links = append(in.Links, strings.Fields(f.Links)...)

	products, versions := form["item_product"], form["item_version"]
	for i := range max(len(products), len(versions)) {
		var it shiplog.DRItem
		if i < len(products) {
			it.ProductName = strings.TrimSpace(products[i])
		}
		if i < len(versions) {
			it.Version = strings.TrimSpace(versions[i])
		}
		f.Items = append(f.Items, it)
		if it.ProductName != "" || it.Version != "" {
			in.Items = append(in.Items, it)
		}
	}

	addEnv := func(name string) {
		name = strings.TrimSpace(name)
		if name != "" && !slices.Contains(in.EnvironmentNames, name) {
			in.EnvironmentNames = append(in.EnvironmentNames, name)
		}
	}
	for _, e := range form["environment"] {
		f.Envs = append(f.Envs, e)
		addEnv(e)
	}
	for _, e := range strings.FieldsFunc(f.OtherEnvs, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		addEnv(e)
	}

	var bad string
	for _, t := range shiplog.ApprovalTypes {
		choice := form.Get("slot_" + t)
		f.Slots[t] = choice
		switch choice {
		case slotNone:
		case slotRequired, slotOptional:
			required := choice == slotRequired
			in.ApprovalSlots = append(in.ApprovalSlots, apiv1.SlotInput{ApprovalType: t, Required: &required})
		default:
			if bad == "" {
				bad = t
			}
		}
	}
	if bad != "" {
		f.Slots[bad] = slotNone
		return f, in, shiplog.Errorf(shiplog.EINVALID, "The %s approval must be required, optional or not needed", bad)
	}
	return f, in, nil
}
