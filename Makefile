# meguri: `make run` builds the tools and runs the main pipeline on the
# sample; `make test` runs the whole test suite.
GO      ?= go
BIN     := bin
TOOLS   := meguri-ingest meguri-route meguri-pack meguri-compact meguri-inspect
CORPUS  ?=
OUT     := out

.PHONY: all build run test test-short fuzz bench vet clean deps

all: build

deps:
	$(GO) mod download

# Static binaries (no cgo): they run on any Linux of the architecture, so
# they can be copied to the nodes GNU parallel reaches with --sshlogin.
# --version prints REV (the checkout's `git describe`, "-dirty" when it has
# uncommitted changes) so that nodes can be checked for one build.
REV     ?= $(shell git describe --always --dirty 2>/dev/null)
build: deps
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -ldflags "-X github.com/meguri/meguri/lib/cli.revision=$(REV)" -o $(BIN)/ $(addprefix ./cmd/,$(TOOLS))

# The main pipeline on the sample in testdata/: ingest, inspect (and a
# classic CDX-11 index, testdata/blackbook.cdx); then the
# fleet: balance 4 partitions, split the lines by the map, ingest each,
# publish the counts, print the map, and compact (split one partition in
# two and publish the rows into the map, which must still tile; read the
# fleet through the map: verify every file, find the new URLs of a list; merge
# everything back and compare with the whole ingest); finally a live
# partition directory: append the partitions' lines in four runs, run
# one again (it appends nothing), list them, read its records, pack it,
# checkpoint it, and compare with the whole ingest again; then move it
# through a pipe, sealing the old directory, which refuses a run after.
run: build
	@rm -rf $(OUT) && mkdir -p $(OUT)/parts
	$(BIN)/meguri-ingest --version
	$(BIN)/meguri-ingest testdata/sample.jsonl -o $(OUT)/sample.meguri --rejects $(OUT)/rejects.jsonl
	$(BIN)/meguri-inspect $(OUT)/sample.meguri
	$(BIN)/meguri-inspect --verify $(OUT)/sample.meguri
	$(BIN)/meguri-inspect --rows $(OUT)/sample.meguri | head -3
	$(BIN)/meguri-ingest testdata/blackbook.cdx -o $(OUT)/blackbook.meguri
	$(BIN)/meguri-inspect --rows --fields url,status,http_status,last_seen --tsv --header $(OUT)/blackbook.meguri | head -4
	$(BIN)/meguri-inspect --url 'http://www.zew.de:80/' $(OUT)/sample.meguri
	$(BIN)/meguri-inspect --host example.com --fields url,status,last_seen,captures --tsv --header $(OUT)/sample.meguri | head -4
	printf 'http://www.zew.de/\nhttps://new.example/\n' | $(BIN)/meguri-inspect --urls - --absent $(OUT)/sample.meguri
	$(BIN)/meguri-inspect --rows --status crawled,redirect --unseen-since 2014 --fields url,status,last_seen --tsv --header $(OUT)/sample.meguri | head -4
	@echo "rejected lines by reason:"; cut -d'"' -f10 $(OUT)/rejects.jsonl | sort | uniq -c
	cd $(OUT) && ../$(BIN)/meguri-route balance --partitions 4 ../testdata/sample.jsonl -o fleet.manifest
	cd $(OUT) && ../$(BIN)/meguri-route split --manifest fleet.manifest --out-dir parts ../testdata/sample.jsonl
	cd $(OUT) && awk '!/^#/ {print $$1, $$4}' fleet.manifest | while read id file; do \
	  ../$(BIN)/meguri-ingest -q --manifest fleet.manifest --partition-id $$id -o parts/$$file parts/$${file%.meguri}.jsonl; done
	cd $(OUT) && ../$(BIN)/meguri-route update --manifest fleet.manifest --dir parts --refresh -o fleet.manifest
	cd $(OUT) && ../$(BIN)/meguri-route --manifest fleet.manifest
	cd $(OUT) && ../$(BIN)/meguri-compact --split 2 --partition-id 10 --out-dir parts parts/part-0000.meguri > hot.rows
	cd $(OUT) && ../$(BIN)/meguri-route update --manifest fleet.manifest --dir parts --rows hot.rows -o fleet.manifest
	cd $(OUT) && ../$(BIN)/meguri-route --manifest fleet.manifest
	cd $(OUT) && ../$(BIN)/meguri-inspect --manifest fleet.manifest --dir parts --verify
	cd $(OUT) && printf 'http://www.zew.de/\nhttps://new.example/\n' | ../$(BIN)/meguri-inspect --manifest fleet.manifest --dir parts --urls - --absent
	cd $(OUT) && ../$(BIN)/meguri-compact parts/part-0001.meguri parts/part-0003.meguri parts/part-0002.meguri parts/part-0010.meguri parts/part-0011.meguri --partition-id 0 -o merged.meguri
	cmp $(OUT)/merged.meguri $(OUT)/sample.meguri && echo "make run: merged partitions are byte-identical to the whole ingest"
	cd $(OUT) && for f in parts/part-000[0-3].jsonl; do ../$(BIN)/meguri-ingest -q --data live $$f; done
	cd $(OUT) && ../$(BIN)/meguri-ingest -q --data live parts/part-0000.jsonl
	$(BIN)/meguri-inspect $(OUT)/live
	$(BIN)/meguri-inspect --commits $(OUT)/live
	$(BIN)/meguri-inspect --rows --status discovered --fields url --tsv $(OUT)/live | head -3
	$(BIN)/meguri-pack --data $(OUT)/live -o $(OUT)/packed.meguri
	$(BIN)/meguri-compact --data $(OUT)/live
	cmp $(OUT)/packed.meguri $(OUT)/sample.meguri && cmp $(OUT)/live/snap-1.meguri $(OUT)/sample.meguri && \
	  echo "make run: the packed and checkpointed live directory is byte-identical to the whole ingest"
	$(BIN)/meguri-pack -q --seal --data $(OUT)/live | $(BIN)/meguri-pack --unpack - --data $(OUT)/moved
	$(BIN)/meguri-pack -q --data $(OUT)/moved | cmp - $(OUT)/sample.meguri && \
	  echo "make run: the live directory moved through a pipe (pack --seal | pack --unpack) packs to the same bytes"
	! $(BIN)/meguri-ingest -q --data $(OUT)/live testdata/sample.jsonl && \
	  echo "make run: the sealed directory it moved from refuses a run, which goes to the moved one instead"
	$(BIN)/meguri-ingest -q --data $(OUT)/moved testdata/sample.jsonl
	head -n 1200 testdata/sample.jsonl > $(OUT)/crawl.jsonl
	$(BIN)/meguri-ingest -q --data $(OUT)/grown $(OUT)/crawl.jsonl
	tail -n +1201 testdata/sample.jsonl >> $(OUT)/crawl.jsonl
	$(BIN)/meguri-ingest --data $(OUT)/grown $(OUT)/crawl.jsonl
	$(BIN)/meguri-pack -q --data $(OUT)/grown | cmp - $(OUT)/sample.meguri && \
	  echo "make run: a log ingested, grown and ingested again packs to the whole ingest (each line read once)"

# Every test, with the race detector, fuzz seed corpora run as tests.
# MEGURI_CORPUS turns on the corpus-backed checks.
test: deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd lib tests scripts)" || { echo "gofmt needed:"; gofmt -l cmd lib tests scripts; exit 1; }
	$(GO) test -race -count=1 ./...
	@# the tools build for the other Unixes a user may run them on (a
	@# laptop's macOS, a FreeBSD storage node), though only Linux runs the tests
	for p in darwin/arm64 freebsd/amd64; do \
	  GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/... || exit 1; done

test-short: deps
	$(GO) test -short -count=1 ./...

# Every fuzz target for FUZZTIME each (go test -fuzz takes one at a time).
# New interesting inputs are not minimized by default: on the log store's
# targets, whose inputs are whole partition directories, minimizing stalls
# the run at 0 execs/s (FUZZMINIMIZE=60s to minimize anyway).
FUZZTIME ?= 60s
FUZZMINIMIZE ?= 0
FUZZ_TARGETS := \
  lib/cdx:FuzzParse \
  lib/cdx:FuzzParseSpaced \
  lib/cdx:FuzzDecodeFlat \
  lib/cdx:FuzzRejectLine \
  lib/cdx:FuzzLegendLayout \
  lib/cdx/input:FuzzInput \
  lib/codec:FuzzReader \
  lib/codec:FuzzResealed \
  lib/canon:FuzzCanonicalize \
  lib/canon:FuzzHostOf \
  lib/canon:FuzzNormalizeEscapes \
  lib/canon:FuzzListURL \
  lib/canon:FuzzRespellings \
  lib/manifest:FuzzParse \
  lib/merge:FuzzMergeIdentity \
  lib/merge:FuzzFoldGCIdentity \
  lib/merge:FuzzEvenCuts \
  lib/extsort:FuzzDecodeBatch \
  lib/inspect:FuzzLookupLines \
  lib/logstore:FuzzLog \
  lib/logstore:FuzzSalvage \
  lib/logstore:FuzzUnpack \
  lib/logstore:FuzzInputsFrame
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== $${t#*:} ($${t%%:*})"; \
	  $(GO) test -run XXX -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) ./$${t%%:*}; \
	done

bench: build
	scripts/bench.sh

clean:
	rm -rf $(BIN) $(OUT)
