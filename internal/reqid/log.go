package reqid

import (
	"context"
	"log/slog"
)

// LogKey is the attribute name of the id in log lines.
const LogKey = "request_id"

// LogHandler wraps h so that every record logged with a context carrying
// an id (InfoContext(r.Context(), …)) gets a request_id attribute. Calls
// without a context (Info, …) log as before.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(logHandler); ok {
		return h
	}
	return logHandler{h}
}

type logHandler struct{ inner slog.Handler }

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := From(ctx); id != "" {
		// Clone: the record's attribute storage may be shared with the caller.
		r = r.Clone()
		r.AddAttrs(slog.String(LogKey, id))
	}
	return h.inner.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.inner.WithAttrs(as)}
}

func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{h.inner.WithGroup(name)}
}
