module github.com/meguri/meguri

go 1.26.8

require (
	github.com/cespare/xxhash/v2 v2.3.0
	github.com/nlnwa/whatwg-url v0.6.2
	golang.org/x/net v0.62.0
)

require (
	github.com/bits-and-blooms/bitset v1.20.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
