package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const bareServerCmd = "bare-server"

// bareHandler is the ceiling: what any Go JSON endpoint on this machine pays
// for HTTP, reading the body and decoding it, and nothing else.
func bareHandler() http.Handler {
	h := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, `{"detail":"body too large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, `{"detail":"Invalid JSON in request body"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"fields":` + strconv.Itoa(len(m)) + "}\n"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /deployment-events/{$}", h)
	mux.HandleFunc("POST /deployment-events", h)
	return mux
}

// bareServerMain serves bareHandler until SIGTERM/SIGINT or until stdin
// closes (the parent is gone), printing "bare-server listening addr=HOST:PORT".
func bareServerMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(bareServerCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := checkLoopback(*addr); err != nil {
		fmt.Fprintln(stderr, "bare-server:", err)
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "bare-server:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	srv := &http.Server{Handler: bareHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "bare-server listening addr=%s\n", ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-errc:
		fmt.Fprintln(stderr, "bare-server:", err)
		return 1
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return 0
}

// checkLoopback refuses any address that is not a loopback IP.
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("address %q: %w", hostport, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not a loopback IP; the benchmark only uses loopback", hostport)
	}
	return nil
}
