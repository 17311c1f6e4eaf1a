#!/usr/bin/env bash
# Whole-pipeline benchmarks against the peer (DuckDB 1.1.3 through
# github.com/marcboeker/go-duckdb, built in the bench-only module
# scripts/bench so it is never a dependency of the binaries).
#
#   MEGURI_CORPUS=../shared/corpus/corpus.jsonl scripts/bench.sh
#
# Prints, for the real corpus and for a generated 20x scaled copy (each URL
# under 20 new subdomains), wall time (best of 3), peak RSS and bytes/url of
# meguri-ingest and of DuckDB folding the same lines to zstd Parquet, and the
# ratios measured in this one run; then the fleet tools (split, merge, fold)
# on generated 2x and 20x copies, ingest of a 200x copy under two --mem
# budgets, and peak RSS from 20x to 200x. Absolute
# times drift on shared machines; compare the ratios. Takes about 10 minutes
# and 2 GB of disk in scripts/bench/work.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MEGURI_CORPUS:?set MEGURI_CORPUS to the corpus path}"
W=scripts/bench/work
mkdir -p "$W" bin
make -s build
echo "# $(bin/meguri-ingest --version); $(nproc) cores"
(cd scripts/bench && go build -o ../../bin/ ./...)
[ -s "$W/scaled20.jsonl" ] || bin/scale 20 < "$MEGURI_CORPUS" > "$W/scaled20.jsonl"

# measure NAME CMD... : prints "seconds peak_kb" for one run
measure() {
  /usr/bin/time -o "$W/time.out" -f "%e %M" "$@" > /dev/null 2> "$W/cmd.err" || { cat "$W/cmd.err" >&2; return 1; }
  tail -1 "$W/time.out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# best of 3 runs: "seconds peak_kb"
best3() {
  local best="" kb=0
  for _ in 1 2 3; do
    read -r s k < <(measure "$@")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; fi
    [ "$k" -gt "$kb" ] && kb=$k
  done
  echo "$best $kb"
}

for name in corpus scaled20; do
  if [ "$name" = corpus ]; then in="$MEGURI_CORPUS"; label="real corpus"; else in="$W/scaled20.jsonl"; label="20x scaled (generated)"; fi
  lines=$(wc -l < "$in")
  # warm the page cache for both
  cat "$in" > /dev/null
  # best of 3 runs each: times on a shared machine vary by 20% and more
  read -r m_s m_kb < <(best3 bin/meguri-ingest -q "$in" -o "$W/$name.meguri")
  read -r d_s d_kb < <(best3 bin/duckfold fold "$in" "$W/$name.parquet" 2)
  read -r u_s u_kb < <(best3 bin/duckfold fold-unsorted "$in" "$W/$name.unsorted.parquet" 2)
  m_urls=$(bin/meguri-inspect --json "$W/$name.meguri" | sed 's/.*"urls":\([0-9]*\).*/\1/')
  m_bytes=$(stat -c %s "$W/$name.meguri")
  d_urls=$(bin/duckfold fold "$in" "$W/$name.parquet" 2)
  d_bytes=$(stat -c %s "$W/$name.parquet")
  u_bpu=$(ratio "$(stat -c %s "$W/$name.unsorted.parquet")" "$d_urls")
  # DuckDB storing exactly the records meguri stores
  bin/meguri-inspect --rows "$W/$name.meguri" > "$W/$name.rows.jsonl"
  r_urls=$(bin/duckfold rows "$W/$name.rows.jsonl" "$W/$name.rows.parquet" 2)
  r_bytes=$(stat -c %s "$W/$name.rows.parquet")
  m_bpu=$(ratio "$m_bytes" "$m_urls"); d_bpu=$(ratio "$d_bytes" "$d_urls"); r_bpu=$(ratio "$r_bytes" "$r_urls")
  echo "== $label: $lines lines"
  printf '%-44s %8s %10s %10s\n' "" "wall s" "peak MiB" "bytes/url"
  printf '%-44s %8s %10d %10s\n' "meguri-ingest" "$m_s" $((m_kb/1024)) "$m_bpu"
  printf '%-44s %8s %10d %10s\n' "DuckDB fold -> zstd Parquet (2 threads)" "$d_s" $((d_kb/1024)) "$d_bpu"
  printf '%-44s %8s %10d %10s\n' "DuckDB, same fold without ORDER BY url" "$u_s" $((u_kb/1024)) "$u_bpu"
  printf '%-44s %8s %10s %10s\n' "DuckDB, meguri's own rows -> zstd Parquet" "-" "-" "$r_bpu"
  echo "ratio meguri/DuckDB: time $(ratio "$m_s" "$d_s"), bytes/url $(ratio "$m_bpu" "$d_bpu") (vs the same rows in Parquet: $(ratio "$m_bpu" "$r_bpu"))"
  echo "ratio meguri/DuckDB without ORDER BY (unsorted output, not the same product): time $(ratio "$m_s" "$u_s"), bytes/url $(ratio "$m_bpu" "$u_bpu")"
  echo
done

# ---- fleet: split, merge, fold (meguri-route, meguri-compact) ----
[ -s "$W/scaled2.jsonl" ] || bin/scale 2 < "$MEGURI_CORPUS" > "$W/scaled2.jsonl"
for name in scaled2 scaled20; do
  in="$W/$name.jsonl"
  bin/meguri-route balance -q --partitions 16 "$in" -o "$W/$name.manifest"
  rm -rf "$W/$name.split" "$W/$name.parts" && mkdir -p "$W/$name.parts"
  read -r sp_s sp_kb < <(best3 bin/meguri-route split -q --manifest "$W/$name.manifest" --out-dir "$W/$name.split" "$in")
  read -r cat_s _ < <(best3 sh -c "cat '$in' > '$W/cat.out'")
  read -r in_s in_kb < <(best3 bin/meguri-ingest -q "$in" -o "$W/$name.meguri")
  awk '!/^#/ {print $1, $2":"$3, $4}' "$W/$name.manifest" | while read -r id range file; do
    bin/meguri-ingest -q --partition-id "$id" --range "$range" -o "$W/$name.parts/$file" "$W/$name.split/${file%.meguri}.jsonl"
  done
  parts=$(printf "%s " "$W/$name.parts"/*.meguri)
  # shellcheck disable=SC2086
  # the files are small: time 50 runs of cat and take the mean, so that
  # the ratio is not a division by a rounded zero
  t0=$EPOCHREALTIME
  for _ in $(seq 50); do cat $parts > "$W/cat.out"; done
  mcat_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", (b - a) / 50 }')
  # shellcheck disable=SC2086
  read -r mg_s mg_kb < <(best3 bin/meguri-compact -q --partition-id 0 $parts -o "$W/$name.merged.meguri")
  cmp -s "$W/$name.merged.meguri" "$W/$name.meguri" || { echo "merge of $name differs from the whole ingest" >&2; exit 1; }
  half=$(( $(wc -l < "$in") / 2 ))
  head -n "$half" "$in" > "$W/h1.jsonl"; tail -n +"$((half + 1))" "$in" > "$W/h2.jsonl"
  bin/meguri-ingest -q "$W/h1.jsonl" -o "$W/h1.meguri"; bin/meguri-ingest -q "$W/h2.jsonl" -o "$W/h2.meguri"
  read -r fo_s fo_kb < <(best3 bin/meguri-compact -q --fold "$W/h1.meguri" "$W/h2.meguri" -o "$W/$name.fold.meguri")
  cmp -s "$W/$name.fold.meguri" "$W/$name.meguri" || { echo "fold of $name differs from the whole ingest" >&2; exit 1; }
  # the live directory: the same two halves appended as two runs, packed,
  # then checkpointed; each result must equal the whole ingest
  rm -rf "$W/$name.live"
  read -r ap_s ap_kb < <(measure sh -c "bin/meguri-ingest -q --data '$W/$name.live' '$W/h1.jsonl' && bin/meguri-ingest -q --data '$W/$name.live' '$W/h2.jsonl'")
  log_bytes=$(stat -c %s "$W/$name.live/log-0")
  read -r pk_s pk_kb < <(best3 bin/meguri-pack -q --data "$W/$name.live" -o "$W/$name.packed.meguri")
  cmp -s "$W/$name.packed.meguri" "$W/$name.meguri" || { echo "pack of $name differs from the whole ingest" >&2; exit 1; }
  read -r cp_s cp_kb < <(measure bin/meguri-compact -q --data "$W/$name.live")
  cmp -s "$W/$name.live/snap-1.meguri" "$W/$name.meguri" || { echo "checkpoint of $name differs from the whole ingest" >&2; exit 1; }
  eval "${name}_split_kb=$sp_kb ${name}_merge_kb=$mg_kb"
  echo "== fleet, $name (generated: corpus URLs under ${name#scaled} subdomains), 16 partitions, best of 3"
  printf '%-52s %8s %10s\n' "" "wall s" "peak MiB"
  printf '%-52s %8s %10s\n' "cat input > one file (floor for split)" "$cat_s" "-"
  printf '%-52s %8s %10d\n' "meguri-route split" "$sp_s" $((sp_kb/1024))
  printf '%-52s %8s %10d\n' "meguri-ingest (whole input)" "$in_s" $((in_kb/1024))
  printf '%-52s %8s %10s\n' "cat 16 partition files (floor for merge)" "$mcat_s" "-"
  printf '%-52s %8s %10d\n' "meguri-compact merge of 16 partitions" "$mg_s" $((mg_kb/1024))
  printf '%-52s %8s %10d\n' "meguri-compact --fold of two halves" "$fo_s" $((fo_kb/1024))
  printf '%-52s %8s %10d\n' "meguri-ingest --data, the two halves as two runs" "$ap_s" $((ap_kb/1024))
  printf '%-52s %8s %10d\n' "meguri-pack of that directory" "$pk_s" $((pk_kb/1024))
  printf '%-52s %8s %10d\n' "meguri-compact --data (checkpoint, one run)" "$cp_s" $((cp_kb/1024))
  echo "live directory: append/ingest $(ratio "$ap_s" "$in_s"), pack/ingest $(ratio "$pk_s" "$in_s"), log bytes/input bytes $(ratio "$log_bytes" "$(stat -c %s "$in")")"
  echo "ratios: split/cat $(ratio "$sp_s" "$cat_s"), split/ingest $(ratio "$sp_s" "$in_s"), merge/cat $(awk -v a="$mg_s" -v b="$mcat_s" 'BEGIN { printf "%.0f", a / b }'), fold/ingest $(ratio "$fo_s" "$in_s")"
  echo
done
echo "peak RSS as the input grows 10x (scaled20 / scaled2): split $(ratio "$scaled20_split_kb" "$scaled2_split_kb"), merge $(ratio "$scaled20_merge_kb" "$scaled2_merge_kb")"
echo

# ---- peak RSS as the input grows 10x, 20x -> 200x (generated) ----
# A run on the 2x copy ends before the garbage collector settles (and, for
# merge, before blocks reach their size cap), so flatness shows from 20x on.
# The 200x lines (1.9 GB) are never stored: they stream from the generator.
# peak CMD...: the largest peak RSS (KiB) of three runs
peak() {
  local kb=0 k
  for _ in 1 2 3; do
    /usr/bin/time -o "$W/time.out" -f "%M" "$@" > /dev/null 2> "$W/cmd.err" || { cat "$W/cmd.err" >&2; return 1; }
    k=$(tail -1 "$W/time.out"); [ "$k" -gt "$kb" ] && kb=$k
  done
  echo "$kb"
}
# ingest of the 200x lines (13.7M, streamed) under the default budget and a
# quarter of it: peak RSS of each, and the same bytes
ingest_mem() {
  /usr/bin/time -o "$W/time.out" -f "%M" bash -c 'bin/scale 200 < "$1" | bin/meguri-ingest -q --mem "$2" --tmp "$3" - -o "$4"' _ \
    "$MEGURI_CORPUS" "$1" "$W" "$2" 2> "$W/cmd.err" || { cat "$W/cmd.err" >&2; return 1; }
  tail -1 "$W/time.out"
}
ing1g=$(ingest_mem 1G "$W/scaled200.meguri")
ing256=$(ingest_mem 256M "$W/scaled200.m256.meguri")
cmp -s "$W/scaled200.meguri" "$W/scaled200.m256.meguri" || { echo "ingest of scaled200 under --mem 256M differs" >&2; exit 1; }
rm -f "$W/scaled200.m256.meguri"
echo "== ingest of the 200x copy (generated, 13.7M lines streamed): peak RSS under --mem"
printf '%-34s %10s\n' "" "peak MiB"
printf '%-34s %10d\n' "meguri-ingest --mem 1G (default)" $((ing1g/1024))
printf '%-34s %10d\n' "meguri-ingest --mem 256M" $((ing256/1024))
echo "(same bytes under both budgets)"
echo
for n in 20 200; do
  rm -rf "$W/mem.split" "$W/mem.parts" && mkdir -p "$W/mem.parts"
  # time reports the largest RSS of the pipeline's processes: the split's
  # (the generator holds about 10 MiB)
  sp=$(peak bash -c 'bin/scale "$1" < "$2" | bin/meguri-route split -q --manifest "$3" --out-dir "$4" -' _ \
    "$n" "$MEGURI_CORPUS" "$W/scaled20.manifest" "$W/mem.split")
  bin/meguri-compact -q --split 16 --out-dir "$W/mem.parts" "$W/scaled$n.meguri" > /dev/null
  mg=$(peak bin/meguri-compact -q --partition-id 0 "$W/mem.parts"/*.meguri -o "$W/mem.merged.meguri")
  cmp -s "$W/mem.merged.meguri" "$W/scaled$n.meguri" || { echo "merge of the 16 parts of scaled$n differs from it" >&2; exit 1; }
  eval "split$n=$sp merge$n=$mg"
done
echo "== peak RSS (largest of 3 runs), 20x -> 200x (generated; split streams the lines, merge joins the 16 parts of compact --split 16)"
printf '%-34s %10s %10s %8s\n' "" "20x MiB" "200x MiB" "ratio"
printf '%-34s %10d %10d %8s\n' "meguri-route split (16 partitions)" $((split20/1024)) $((split200/1024)) "$(ratio "$split200" "$split20")"
printf '%-34s %10d %10d %8s\n' "meguri-compact merge of 16" $((merge20/1024)) $((merge200/1024)) "$(ratio "$merge200" "$merge20")"
