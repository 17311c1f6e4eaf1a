// Command scale writes a generated, scaled copy of a CDX JSON-lines corpus:
// every line is repeated N times, the host of its "url" given a new
// subdomain s0., s1., ... so each URL appears under N host variants. The
// output is generated data and is labelled so wherever it is reported.
package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
)

var urlField = regexp.MustCompile(`("url": ?"https?://)([^/"?#]+)`)

func main() {
	n := 20
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	for sc.Scan() {
		line := sc.Bytes()
		for i := 0; i < n; i++ {
			out := urlField.ReplaceAll(line, []byte(fmt.Sprintf("${1}s%d.${2}", i)))
			w.Write(out)
			w.WriteByte('\n')
		}
	}
}
