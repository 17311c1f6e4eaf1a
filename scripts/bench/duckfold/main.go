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
	if len(os.Args) != 5 || (os.Args[1] != "fold" && os.Args[1] != "fold-unsorted" && os.Args[1] != "rows") {
		fmt.Fprintln(os.Stderr, "usage: duckfold fold|fold-unsorted|rows IN.jsonl OUT.parquet THREADS")
		fmt.Fprintln(os.Stderr, "  fold: fold raw CDX JSON lines to one row per URL (newest capture wins), ordered by URL")
		fmt.Fprintln(os.Stderr, "  fold-unsorted: the same fold in whatever order GROUP BY leaves it")
		fmt.Fprintln(os.Stderr, "  rows: store meguri-inspect --rows output as it is (the same records meguri stores)")
		os.Exit(2)
	}
	mode, in, out, threads := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
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
	if mode == "fold-unsorted" {
		q = strings.Replace(q, "  ORDER BY url\n", "", 1)
	}
	if mode == "rows" {
		q = fmt.Sprintf(`
SET threads=%s;
COPY (
  SELECT url, CAST(host_key AS UBIGINT) AS host_key, status, http_status, first_seen, last_seen,
         captures, changes, CAST(('0x' || digest) AS UBIGINT) AS digest, mime, length, redirect
  FROM read_json('%s', format='newline_delimited',
       columns={url: 'VARCHAR', host_key: 'VARCHAR', status: 'VARCHAR', http_status: 'USMALLINT',
                first_seen: 'VARCHAR', last_seen: 'VARCHAR', captures: 'UBIGINT', changes: 'UBIGINT',
                digest: 'VARCHAR', mime: 'VARCHAR', length: 'BIGINT', redirect: 'VARCHAR'})
  ORDER BY host_key, url
) TO '%s' (FORMAT PARQUET, COMPRESSION ZSTD);`, threads, strings.ReplaceAll(in, "'", "''"), strings.ReplaceAll(out, "'", "''"))
	}
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
