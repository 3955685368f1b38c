package main

// FerretDB v1.24.2's SQLite backend creates each collection's `_id` index on the expression
// `_ferretdb_sjson->"_id"`, but every query, update and delete it pushes down by `_id` filters on
// `_ferretdb_sjson->'$._id'`. SQLite only uses an expression index for the identical expression, so
// `EXPLAIN QUERY PLAN` shows `SCAN` for `find({_id})` and every update or delete by `_id` reads the
// whole table (O(n) per document). MongoDB answers `_id` from its primary index, so tests and
// benchmarks would measure FerretDB's scan instead of the application.
//
// idIndexer adds, beside FerretDB, the index its queries actually use: one
// `CREATE INDEX IF NOT EXISTS … (_ferretdb_sjson->'$._id')` per collection table. It changes no
// data and no query result; FerretDB does not list it (its index metadata lives in its own table)
// and drops it with the table. Tables appear when a collection is first written, so the indexer
// polls the data directory.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

// idExpression must match internal/backends/sqlite/metadata.IDColumn byte for byte.
const idExpression = `_ferretdb_sjson->'$._id'`

const indexSuffix = "_scimbridge_id"

type openDB struct {
	db   *sql.DB
	info os.FileInfo
}

type idIndexer struct {
	dir    string
	logger *slog.Logger
	dbs    map[string]*openDB
}

func newIDIndexer(dir string, logger *slog.Logger) *idIndexer {
	return &idIndexer{dir: dir, logger: logger, dbs: map[string]*openDB{}}
}

// run indexes new tables every interval until ctx ends.
func (x *idIndexer) run(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	defer x.closeAll()

	for {
		x.sweep(ctx)

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (x *idIndexer) sweep(ctx context.Context) {
	files, _ := filepath.Glob(filepath.Join(x.dir, "*.sqlite"))
	seen := map[string]bool{}

	for _, path := range files {
		seen[path] = true

		info, err := os.Stat(path)
		if err != nil {
			continue
		}

		// A dropped and re-created database is a new file under the same name.
		if o := x.dbs[path]; o != nil && !os.SameFile(o.info, info) {
			_ = o.db.Close()
			delete(x.dbs, path)
		}

		o := x.dbs[path]
		if o == nil {
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
			if err != nil {
				continue
			}
			db.SetMaxOpenConns(1)
			o = &openDB{db: db, info: info}
			x.dbs[path] = o
		}

		if err := x.indexTables(ctx, o); err != nil && ctx.Err() == nil {
			x.logger.DebugContext(ctx, "id index sweep", slog.String("file", path), slog.String("error", err.Error()))
		}
	}

	for path, o := range x.dbs {
		if !seen[path] {
			_ = o.db.Close()
			delete(x.dbs, path)
		}
	}
}

func (x *idIndexer) indexTables(ctx context.Context, o *openDB) error {
	// Tables without the index; a dropped and re-created collection comes back here without it.
	rows, err := o.db.QueryContext(ctx, `
		SELECT t.name FROM sqlite_master t
		WHERE t.type = 'table' AND t.name NOT LIKE '\_ferretdb\_%' ESCAPE '\'
		AND NOT EXISTS (
			SELECT 1 FROM sqlite_master i
			WHERE i.type = 'index' AND i.tbl_name = t.name AND i.name = t.name || '`+indexSuffix+`'
		)`)
	if err != nil {
		return err
	}

	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	_ = rows.Close()

	for _, table := range tables {
		index := strings.ReplaceAll(table+indexSuffix, `"`, `""`)
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s" ON "%s" (%s)`,
			index, strings.ReplaceAll(table, `"`, `""`), idExpression)

		// An error (the table was dropped since the listing, a lock timed out) is retried next sweep.
		_, _ = o.db.ExecContext(ctx, q)
	}

	return nil
}

func (x *idIndexer) closeAll() {
	for path, o := range x.dbs {
		_ = o.db.Close()
		delete(x.dbs, path)
	}
}
