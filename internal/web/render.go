package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/httpapi"
)

// pageSet holds one template set per page: the layout, the shared partials
// and the page's own file, so pages may each define "title" and "content".
type pageSet struct {
	pages  map[string]*template.Template
	assets map[string]string // static file → URL with a content hash
}

func mustParsePages() *pageSet {
	ps := &pageSet{pages: map[string]*template.Template{}, assets: map[string]string{}}
	statics, err := fs.Glob(assets, "static/*")
	if err != nil {
		panic(err)
	}
	for _, f := range statics {
		b, err := assets.ReadFile(f)
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ps.assets[path.Base(f)] = "/ui/static/" + path.Base(f) + "?v=" + hex.EncodeToString(sum[:6])
	}
	files, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t := template.New(name).Funcs(ps.funcs())
		t = template.Must(t.ParseFS(assets, "templates/layout.html", "templates/partials/*.html", f))
		ps.pages[name] = t
	}
	return ps
}

func (ps *pageSet) funcs() template.FuncMap {
	return template.FuncMap{
		"asset": func(name string) (string, error) {
			u, ok := ps.assets[name]
			if !ok {
				return "", fmt.Errorf("no static file %q", name)
			}
			return u, nil
		},
		"when":        when,
		"iso":         iso,
		"statusIcon":  statusIcon,
		"statusLabel": statusLabel,
		"deref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		"short": func(s string) string {
			if len(s) > 10 {
				return s[:10]
			}
			return s
		},
		"join":    strings.Join,
		"seconds": seconds,
		"percent": percent,
		"has": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, errors.New("dict needs key/value pairs")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, errors.New("dict keys are strings")
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		// pretty indents a delivery's payload within prettyJSON's limits: a
		// page lists 20 deliveries, whose payloads carry the pipeline's own
		// extra_metadata at any depth.
		"pretty": func(raw json.RawMessage) string {
			return prettyJSON(raw, maxPrettyBytes/2).Text
		},
	}
}

// toTime accepts the shapes times arrive in: time.Time, *time.Time and the
// API's RFC 3339 strings.
func toTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	case string:
		p, err := time.Parse(time.RFC3339Nano, t)
		return p, err == nil
	case *string:
		if t == nil {
			return time.Time{}, false
		}
		return toTime(*t)
	}
	return time.Time{}, false
}

// when formats a time for people: UTC, to the minute.
func when(v any) string {
	t, ok := toTime(v)
	if !ok {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// iso is the machine-readable form for <time datetime>.
func iso(v any) string {
	t, ok := toTime(v)
	if !ok {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func statusIcon(s any) string {
	switch fmt.Sprint(s) {
	case string(shiplog.StatusCompleted), "approved", "ready", "success", "passed", "delivered":
		return "✓"
	case string(shiplog.StatusFailed), "rejected", "failure":
		return "✗"
	case string(shiplog.StatusStarted), "active", "running", "in_progress", "retrying":
		return "◐"
	case string(shiplog.StatusPending), "draft", "queued":
		return "○"
	default:
		return "⊘"
	}
}

// statusLabel is the CSS class of a status badge.
func statusLabel(s any) string {
	switch fmt.Sprint(s) {
	case string(shiplog.StatusCompleted), "approved", "ready", "delivered", "success", "passed":
		return "ok"
	case string(shiplog.StatusFailed), "rejected", "failure":
		return "bad"
	case string(shiplog.StatusStarted), "active", "running", "retrying", "in_progress":
		return "run"
	default:
		return "idle"
	}
}

type pageData struct {
	V *view
	D any
}

const flashCookie = "shiplog_flash"

// render writes a whole page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view, data any) error {
	t, ok := s.pages.pages[page]
	if !ok {
		return fmt.Errorf("no page template %q", page)
	}
	if c, err := r.Cookie(flashCookie); err == nil && v.Flash == "" {
		v.Flash = flashText(c.Value)
		s.setCookie(w, flashCookie, "", -1, true)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pageData{V: v, D: data}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// fragment writes one named template of a page set (htmx swaps).
func (s *Server) fragment(w http.ResponseWriter, page, name string, v *view, data any) error {
	t, ok := s.pages.pages[page]
	if !ok {
		return fmt.Errorf("no page template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, pageData{V: v, D: data}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}

// redirect ends a successful form post (post/redirect/get), with a message
// for the next page.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to, flash string) error {
	if flash != "" {
		s.setCookie(w, flashCookie, flashValue(flash), 60, true)
	}
	if r.Header.Get("HX-Request") != "" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// Cookie values cannot hold every character a message may have.
func flashValue(s string) string { return hex.EncodeToString([]byte(s)) }

func flashText(v string) string {
	b, err := hex.DecodeString(v)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}

func notFound(msg string) error { return shiplog.Errorf(shiplog.ENOTFOUND, "%s", msg) }

// fail is the one place a console error becomes a response: the API's own
// answer when a call was refused, a domain error's status and text, or a
// logged 500 whose cause stays in the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; the details are in the server log."
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		status, msg = ae.Status, ae.Detail
	case shiplog.ErrorCode(err) != shiplog.EINTERNAL:
		status, msg = httpapi.StatusFor(shiplog.ErrorCode(err)), shiplog.ErrorMessage(err)
	default:
		s.Log.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	if r.Header.Get("HX-Request") != "" {
		// Show it in the page's message area rather than where the
		// request meant to swap.
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		v.Error = msg
		if ferr := s.fragment(w, "error", "messages", v, nil); ferr != nil {
			http.Error(w, msg, status)
		}
		return
	}
	if status == http.StatusNotFound && v.User != nil {
		// A page of its own: where to go instead (not_found.html).
		if rerr := s.render(w, r, status, "not_found", v, msg); rerr == nil {
			return
		}
	}
	v.Error = msg
	if rerr := s.render(w, r, status, "error", v, nil); rerr != nil {
		http.Error(w, msg, status)
	}
}
