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

// wildcardKey returns the table key under which a wildcard certificate that
// covers name is stored: name without its left-most label, keeping the dot
// (".example.com" for "a.example.com"). RFC 6125 section 6.4.3 lets "*"
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

// keyFor returns the table key for a certificate loaded for name: the
// wildcard key when the certificate covers name only through a "*." DNS
// name, else name itself. A name that is itself a wildcard pattern
// ("*.example.com") maps to its wildcard key.
func keyFor(name string, dnsNames []string) string {
	if rest, ok := strings.CutPrefix(name, "*"); ok && strings.HasPrefix(rest, ".") {
		return rest
	}
	for _, d := range dnsNames {
		if strings.EqualFold(d, name) {
			return name
		}
	}
	wk, ok := wildcardKey(name)
	if !ok {
		return name
	}
	for _, d := range dnsNames {
		if len(d) == len(wk)+1 && d[0] == '*' && strings.EqualFold(d[1:], wk) {
			return wk
		}
	}
	return name
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
