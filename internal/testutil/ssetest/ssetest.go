// Package ssetest reads server-sent events the way the HTML standard's
// EventSource parses them, for tests of streaming endpoints.
package ssetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Frame is one block of lines ended by a blank line.
type Frame struct {
	ID       string // the id field's value; HasID says whether there was one
	HasID    bool
	Event    string
	Data     string // data lines joined with "\n"
	Retry    string
	Comments []string
}

// Reader parses frames from a stream.
type Reader struct {
	sc *bufio.Scanner
}

// NewReader reads frames from r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	sc.Split(scanLines)
	return &Reader{sc: sc}
}

// Next returns the next frame; io.EOF when the stream ended between frames.
// A frame cut off by the end of the stream is dropped, as EventSource does.
func (r *Reader) Next() (Frame, error) {
	var f Frame
	var data []string
	started := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if line == "" {
			if !started {
				continue
			}
			f.Data = strings.Join(data, "\n")
			return f, nil
		}
		started = true
		if c, ok := strings.CutPrefix(line, ":"); ok {
			f.Comments = append(f.Comments, strings.TrimPrefix(c, " "))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			if !strings.Contains(value, "\x00") {
				f.ID, f.HasID = value, true
			}
		case "event":
			f.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			f.Retry = value
		}
	}
	if err := r.sc.Err(); err != nil {
		return Frame{}, err
	}
	return Frame{}, io.EOF
}

// scanLines splits on "\r\n", "\n" or a lone "\r", the SSE line ends.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // "\r\n" may straddle reads
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Stream is one open connection to an SSE endpoint.
type Stream struct {
	Header http.Header
	frames chan result
	cancel context.CancelFunc
}

type result struct {
	f   Frame
	err error
}

// HTTPError is Open's error for a status other than 200.
type HTTPError struct {
	Status int
	Header http.Header
	Body   []byte
}

func (e *HTTPError) Error() string { return fmt.Sprintf("status %d: %s", e.Status, e.Body) }

// Open connects with GET and the given headers (name, value, …) and reads
// frames in the background until Close.
func Open(ctx context.Context, url string, header ...string) (*Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		defer cancel()
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return nil, &HTTPError{Status: res.StatusCode, Header: res.Header, Body: body}
	}
	s := &Stream{Header: res.Header, frames: make(chan result), cancel: cancel}
	go func() {
		defer res.Body.Close()
		rd := NewReader(res.Body)
		for {
			f, err := rd.Next()
			select {
			case s.frames <- result{f, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return s, nil
}

// Next returns the next frame, or the error that ended the stream (io.EOF
// when the server ended it cleanly), or ctx's error.
func (s *Stream) Next(ctx context.Context) (Frame, error) {
	select {
	case r := <-s.frames:
		return r.f, r.err
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	}
}

// Close disconnects, as a client going away does.
func (s *Stream) Close() { s.cancel() }
