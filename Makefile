# meguri: `make run` builds the tools and runs the main pipeline on the
# sample; `make test` runs the whole test suite.
GO      ?= go
BIN     := bin
TOOLS   := meguri-ingest meguri-inspect
CORPUS  ?=
OUT     := out

.PHONY: all build run test test-short fuzz bench vet clean deps

all: build

deps:
	$(GO) mod download

build: deps
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(TOOLS))

# The main pipeline on the sample in testdata/: ingest, inspect, verify, look up.
run: build
	@mkdir -p $(OUT)
	$(BIN)/meguri-ingest testdata/sample.jsonl -o $(OUT)/sample.meguri --rejects $(OUT)/rejects.jsonl
	$(BIN)/meguri-inspect $(OUT)/sample.meguri
	$(BIN)/meguri-inspect --verify $(OUT)/sample.meguri
	$(BIN)/meguri-inspect --rows $(OUT)/sample.meguri | head -3
	$(BIN)/meguri-inspect --url 'http://www.zew.de:80/' $(OUT)/sample.meguri
	@echo "rejected lines by reason:"; cut -d'"' -f10 $(OUT)/rejects.jsonl | sort | uniq -c

# Every test, with the race detector, fuzz seed corpora run as tests.
# MEGURI_CORPUS turns on the corpus-backed checks.
test: deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l cmd lib)" || { echo "gofmt needed:"; gofmt -l cmd lib; exit 1; }
	$(GO) test -race -count=1 ./...

test-short: deps
	$(GO) test -short -count=1 ./...

fuzz:
	$(GO) test -run XXX -fuzz '^FuzzParse$$' -fuzztime 60s ./lib/cdx
	$(GO) test -run XXX -fuzz '^FuzzReader$$' -fuzztime 60s ./lib/codec
	$(GO) test -run XXX -fuzz '^FuzzCanonicalize$$' -fuzztime 60s ./lib/canon

bench: build
	scripts/bench.sh

clean:
	rm -rf $(BIN) $(OUT)
