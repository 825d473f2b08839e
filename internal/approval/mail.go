package approval

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/shiplog/shiplog"
)

// The DR approval emails: automatic, not configurable (the seed). Each is
// short, says what ships where, and links to the DR page, where people act.

var textMail = texttemplate.Must(texttemplate.New("t").Parse(`{{.Lead}}

{{.Name}}
Ships: {{range $i, $it := .Items}}{{if $i}}, {{end}}{{$it.ProductName}} {{$it.Version}}{{end}}
To: {{range $i, $e := .Envs}}{{if $i}}, {{end}}{{$e}}{{end}}
{{if .Detail}}
{{.Detail}}
{{end}}{{if .Notes}}
Release notes:
{{.Notes}}
{{end}}
{{.URL}}
`))

var htmlMail = htmltemplate.Must(htmltemplate.New("h").Parse(`<!doctype html>
<html><body style="font-family:system-ui,sans-serif;line-height:1.4;color:#1f2328">
<p>{{.Lead}}</p>
<h2 style="font-size:18px;margin:0 0 8px">{{.Name}}</h2>
<p><b>Ships:</b> {{range $i, $it := .Items}}{{if $i}}, {{end}}{{$it.ProductName}} {{$it.Version}}{{end}}<br>
<b>To:</b> {{range $i, $e := .Envs}}{{if $i}}, {{end}}{{$e}}{{end}}</p>
{{if .Detail}}<p>{{.Detail}}</p>{{end}}
{{if .Notes}}<p><b>Release notes</b></p><pre style="white-space:pre-wrap">{{.Notes}}</pre>{{end}}
<p><a href="{{.URL}}" style="display:inline-block;padding:8px 14px;background:#1f6feb;color:#fff;border-radius:6px;text-decoration:none">{{.Button}}</a></p>
</body></html>
`))

type mailData struct {
	Lead, Name, Detail, Notes, URL, Button string
	Items                                  []shiplog.DRItem
	Envs                                   []string
}

func render(subject string, data mailData) mailJSON {
	var t, h bytes.Buffer
	// The templates are fixed and the data plain strings: execution cannot fail.
	_ = textMail.Execute(&t, data)
	_ = htmlMail.Execute(&h, data)
	return mailJSON{Subject: subject, Text: t.String(), HTML: h.String()}
}

func what(d *shiplog.DeploymentRequest) string {
	var parts []string
	for _, it := range d.Items {
		parts = append(parts, it.ProductName+" "+it.Version)
	}
	return strings.Join(parts, ", ") + " → " + strings.Join(d.EnvironmentNames, ", ")
}

func requestMail(s *Service, d *shiplog.DeploymentRequest, u *shiplog.User, types []string) mailJSON {
	return render("Approval requested: "+what(d), mailData{
		Lead: fmt.Sprintf("%s asks for your %s approval.", d.CreatedByName, strings.Join(types, " and ")),
		Name: d.Name, Notes: d.Description, URL: s.URL(d.ID), Button: "View and approve",
		Items: d.Items, Envs: d.EnvironmentNames,
		Detail: "Approve or reject it on the deployment request's page.",
	})
}

func decisionMail(s *Service, d *shiplog.DeploymentRequest, slot *shiplog.Slot, who string) mailJSON {
	verb := "approved"
	if slot.Status == shiplog.SlotRejected {
		verb = "rejected"
	}
	detail := ""
	if slot.Comments != nil {
		detail = "Comments: " + *slot.Comments
	}
	return render(fmt.Sprintf("%s: %s %s by %s", d.Name, slot.ApprovalType, verb, who), mailData{
		Lead: fmt.Sprintf("%s %s the %s approval (as %s). The request is now %s.", who, verb, slot.ApprovalType, deref(slot.DecidedRole), d.Status),
		Name: d.Name, Detail: detail, URL: s.URL(d.ID), Button: "View the request", Items: d.Items, Envs: d.EnvironmentNames,
	})
}

func readyMail(s *Service, d *shiplog.DeploymentRequest) mailJSON {
	return render(d.Name+": ready to deploy", mailData{
		Lead: "Every required approval is in: this deployment request is ready to deploy.",
		Name: d.Name, URL: s.URL(d.ID), Button: "View the request", Items: d.Items, Envs: d.EnvironmentNames,
	})
}
