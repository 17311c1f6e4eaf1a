// Command duckfold is the benchmark peer: DuckDB folds CDX JSON lines to one
// row per URL (newest capture wins) and writes zstd Parquet. It lives in its
// own module so DuckDB is never a dependency of the meguri binaries.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	_ "github.com/marcboeker/go-duckdb"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: duckfold IN.jsonl OUT.parquet THREADS")
		os.Exit(2)
	}
	in, out, threads := os.Args[1], os.Args[2], os.Args[3]
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fail(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`
SET threads=%s;
COPY (
  SELECT url,
         count(timestamp) AS captures,
         min(timestamp) AS first_seen,
         max(timestamp) AS last_seen,
         arg_max(status, timestamp) AS http_status,
         arg_max(digest, timestamp) AS digest,
         arg_max(mime, timestamp) AS mime,
         arg_max(length, timestamp) AS length,
         arg_max(redirect, timestamp) AS redirect
  FROM read_json('%s', format='newline_delimited', ignore_errors=true,
       columns={url: 'VARCHAR', timestamp: 'VARCHAR', status: 'VARCHAR', digest: 'VARCHAR',
                mime: 'VARCHAR', length: 'VARCHAR', redirect: 'VARCHAR'})
  WHERE url ILIKE 'http://%%' OR url ILIKE 'https://%%'
  GROUP BY url
  ORDER BY url
) TO '%s' (FORMAT PARQUET, COMPRESSION ZSTD);`, threads, strings.ReplaceAll(in, "'", "''"), strings.ReplaceAll(out, "'", "''"))
	if _, err := db.Exec(q); err != nil {
		fail(err)
	}
	var n int64
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, strings.ReplaceAll(out, "'", "''"))).Scan(&n); err != nil {
		fail(err)
	}
	fmt.Println(n)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "duckfold:", err)
	os.Exit(1)
}
