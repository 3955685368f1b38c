// Command ferretdb runs FerretDB v1 as the project's MongoDB-wire test and demo server: on SQLite
// (-sqlite-dir, the test suite's default: nothing else to start) or on PostgreSQL (-postgresql-url, the
// `make dev` default: PostgreSQL evaluates FerretDB's pushed-down filters, docs/testing.md).
//
// It embeds the upstream ferretdb package instead of building cmd/ferretdb, whose binary panics at
// start-up when built with `go install` (build/version/version.txt is not in the module). Embedded
// FerretDB never reports telemetry. With -listen 127.0.0.1:0 it binds a free port and prints the
// connection URI on stdout as its first line, so a test harness can start it without racing for ports.
//
// scripts/bootstrap.sh builds it against FerretDB with one expression changed so that SQLite can use the
// `_id` index FerretDB creates (docs/testing.md, "Known limits of the test server").
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (port 0 picks a free port)")
	dir := flag.String("sqlite-dir", "", "directory holding one SQLite file per database (created if missing)")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL backend instead of SQLite, e.g. postgres://127.0.0.1:5432/ferretdb")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	if (*dir == "") == (*pgURL == "") {
		fmt.Fprintln(os.Stderr, "ferretdb: exactly one of -sqlite-dir and -postgresql-url is required")
		os.Exit(2)
	}
	handler, sqliteURL := "postgresql", ""
	if *dir != "" {
		abs, err := filepath.Abs(*dir)
		if err == nil {
			err = os.MkdirAll(abs, 0o700)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "ferretdb: data directory: %v\n", err)
			os.Exit(1)
		}
		handler, sqliteURL = "sqlite", "file:"+abs+"/"
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: -log-level: %v\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:       handler,
		SQLiteURL:     sqliteURL,
		PostgreSQLURL: *pgURL,
		Logger:        logger,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI blocks until the listener is bound, so the printed port is the real one.
	fmt.Println(f.MongoDBURI())

	if err := <-done; err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}
