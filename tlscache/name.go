package tlscache

import "strings"

// normalize lower-cases name and drops one trailing dot. Names that are
// already normal (the common case: crypto/tls rejects a trailing dot in SNI
// and most clients send lower case) are returned without allocating.
func normalize(name string) string {
	normal := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			normal = false
			break
		}
	}
	if normal && (len(name) == 0 || name[len(name)-1] != '.') {
		return name
	}
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// wildcardKey returns the part of name a wildcard pattern must match: name
// without its left-most label, keeping the dot (".example.com" for
// "a.example.com"; the pattern is "*" + key). RFC 6125 section 6.4.3 lets "*"
// stand for exactly one whole left-most label, so only that one key can
// match. ok is false where no wildcard can cover name: a single label or an
// empty first label. Like crypto/x509, single-label parents ("*.localhost")
// are allowed; whether "*.com" is acceptable is the issuer's business.
func wildcardKey(name string) (key string, ok bool) {
	i := strings.IndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return "", false
	}
	return name[i:], true
}

// validHostname reports whether name (already normalised) can be a DNS host
// name or a "*." wildcard pattern, as the file loader requires before it
// turns a name into a path. SNI is chosen by the client, so anything else
// (slashes, "..", NUL, spaces) is refused.
func validHostname(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	rest := name
	if r, ok := strings.CutPrefix(name, "*."); ok {
		rest = r
	}
	for label := range strings.SplitSeq(rest, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
