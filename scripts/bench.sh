#!/usr/bin/env bash
# Whole-pipeline benchmarks against the peer (DuckDB 1.1.3 through
# github.com/marcboeker/go-duckdb, built in the bench-only module
# scripts/bench so it is never a dependency of the binaries).
#
#   MEGURI_CORPUS=../shared/corpus/corpus.jsonl scripts/bench.sh
#
# Prints, for the real corpus and for a generated 20x scaled copy (each URL
# under 20 new subdomains), wall time, peak RSS and bytes/url of
# meguri-ingest and of DuckDB folding the same lines to zstd Parquet, and the
# ratios measured in this one run. Absolute times drift on shared machines;
# compare the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MEGURI_CORPUS:?set MEGURI_CORPUS to the corpus path}"
W=scripts/bench/work
mkdir -p "$W" bin
go build -o bin/ ./cmd/...
(cd scripts/bench && go build -o ../../bin/ ./...)
[ -s "$W/scaled20.jsonl" ] || bin/scale 20 < "$MEGURI_CORPUS" > "$W/scaled20.jsonl"

# measure NAME CMD... : prints "seconds peak_kb" for one run
measure() {
  /usr/bin/time -o "$W/time.out" -f "%e %M" "$@" > /dev/null 2> "$W/cmd.err" || { cat "$W/cmd.err" >&2; return 1; }
  tail -1 "$W/time.out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

for name in corpus scaled20; do
  if [ "$name" = corpus ]; then in="$MEGURI_CORPUS"; label="real corpus"; else in="$W/scaled20.jsonl"; label="20x scaled (generated)"; fi
  lines=$(wc -l < "$in")
  # warm the page cache for both
  cat "$in" > /dev/null
  read -r m_s m_kb < <(measure bin/meguri-ingest -q "$in" -o "$W/$name.meguri")
  read -r d_s d_kb < <(measure bin/duckfold fold "$in" "$W/$name.parquet" 2)
  m_urls=$(bin/meguri-inspect --json "$W/$name.meguri" | sed 's/.*"urls":\([0-9]*\).*/\1/')
  m_bytes=$(stat -c %s "$W/$name.meguri")
  d_urls=$(bin/duckfold fold "$in" "$W/$name.parquet" 2)
  d_bytes=$(stat -c %s "$W/$name.parquet")
  # DuckDB storing exactly the records meguri stores
  bin/meguri-inspect --rows "$W/$name.meguri" > "$W/$name.rows.jsonl"
  r_urls=$(bin/duckfold rows "$W/$name.rows.jsonl" "$W/$name.rows.parquet" 2)
  r_bytes=$(stat -c %s "$W/$name.rows.parquet")
  m_bpu=$(ratio "$m_bytes" "$m_urls"); d_bpu=$(ratio "$d_bytes" "$d_urls"); r_bpu=$(ratio "$r_bytes" "$r_urls")
  echo "== $label: $lines lines"
  printf '%-44s %8s %10s %10s\n' "" "wall s" "peak MiB" "bytes/url"
  printf '%-44s %8s %10d %10s\n' "meguri-ingest" "$m_s" $((m_kb/1024)) "$m_bpu"
  printf '%-44s %8s %10d %10s\n' "DuckDB fold -> zstd Parquet (2 threads)" "$d_s" $((d_kb/1024)) "$d_bpu"
  printf '%-44s %8s %10s %10s\n' "DuckDB, meguri's own rows -> zstd Parquet" "-" "-" "$r_bpu"
  echo "ratio meguri/DuckDB: time $(ratio "$m_s" "$d_s"), bytes/url $(ratio "$m_bpu" "$d_bpu") (vs the same rows in Parquet: $(ratio "$m_bpu" "$r_bpu"))"
  echo
done
