// Command vulnfixture calls a symbol with a known vulnerability (GO-2020-0015: x/text's UTF-16 decoder
// loops forever on some input, fixed in v0.3.3). scripts/vulncheck.sh runs govulncheck on it and expects
// that finding: it proves the offline vulnerability database is built and used, not silently empty.
package main

import (
	"fmt"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

func main() {
	out, _, err := transform.String(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder(), "\xff\xfex\x00")
	fmt.Println(out, err)
}
