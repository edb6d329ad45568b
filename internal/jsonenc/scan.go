package jsonenc

// EachField calls fn with each member of the JSON object obj, in order and
// duplicates included: the raw key (the string token as written, quotes and
// escapes included) and the raw value. It stops when fn returns false and
// reports whether it saw every member.
//
// obj must start with '{' and be valid JSON (see Valid): the scanner trusts
// that and does not check the syntax again, which is what makes it cheap. On
// any other input it passes unspecified slices of obj, but it does not panic
// or loop.
//
// It takes a callback rather than returning an iter.Seq2: on forward's
// alert decoding, the range-over-func form cost a few percent more.
func EachField(obj []byte, fn func(key, val []byte) bool) bool {
	i := SkipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		k := skipString(obj, i)
		v := SkipSpace(obj, SkipSpace(obj, k)+1) // past ':'
		if v >= len(obj) {
			return true
		}
		end := skipValue(obj, v)
		if !fn(obj[i:k], obj[v:end]) {
			return false
		}
		i = SkipSpace(obj, end)
		if i < len(obj) && obj[i] == ',' {
			i = SkipSpace(obj, i+1)
		}
	}
	return true
}

// EachElement calls fn with the index and raw value of each element of the
// JSON array arr, in order, until fn returns false; it reports whether it saw
// every element. Like EachField, it expects arr to start with '[' and be
// valid JSON.
func EachElement(arr []byte, fn func(i int, val []byte) bool) bool {
	all := true
	Elements(arr, func(n, start int) int {
		end := skipValue(arr, start)
		if end == start { // no value here: not valid JSON
			return -1
		}
		if !fn(n, arr[start:end]) {
			all = false
			return -1
		}
		return end
	})
	return all
}

// Elements walks the JSON array arr (which starts with '['): it calls fn
// with the index and the offset of each element in turn, and fn, having
// read the element, returns the offset just past it — or a value not past
// start to stop. So a caller that reads each element anyway (NewElement)
// does not scan it twice, as EachElement followed by a decoder would.
func Elements(arr []byte, fn func(n, start int) int) {
	i := SkipSpace(arr, 1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		end := fn(n, i)
		if end <= i {
			return
		}
		i = SkipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = SkipSpace(arr, i+1)
		}
	}
}

// ValueEnd returns the offset just past the JSON value that starts at
// b[i], assuming valid JSON (strings and nesting are followed), or i when
// there is none.
func ValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	return min(skipValue(b, i), len(b))
}

// SkipSpace returns the index of the first byte of b at or after i that is
// not JSON whitespace (space, tab, CR, LF), or len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipString returns the index after the string token starting at b[i] == '"'
// (len(b) if it is not closed).
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return min(i, len(b)) // a '\\' at the end steps past it
}

// skipValue returns the index after the value starting at b[i], i < len(b),
// assuming valid JSON: strings and nesting are followed, numbers and literals
// end at the next delimiter.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isSpace(b[i]) {
			i++
		}
		return i
	}
}
