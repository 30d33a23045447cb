package tlscache

import (
	"fmt"
	"strconv"
	"strings"
)

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

// maxNameLen is the longest DNS host name in text form (RFC 1035 allows
// 255 octets on the wire, which is 253 characters without a trailing dot).
const maxNameLen = 253

// validHostname reports whether name (already normalised) can be a DNS host
// name or a "*." wildcard pattern, as the file loader requires before it
// turns a name into a path. SNI is chosen by the client, so anything else
// (slashes, "..", NUL, spaces) is refused.
func validHostname(name string) bool {
	rest := name
	if r, ok := strings.CutPrefix(name, "*."); ok {
		rest = r
	}
	return name != "" && len(name) <= maxNameLen && checkLabels(rest) == ""
}

// checkServerName returns why name (already normalised) cannot be a server
// name in SNI, or "" if it can: a DNS host name of at most 253 bytes in
// labels of 1 to 63 letters, digits, hyphens (not first or last) and
// underscores (which real host names carry, though RFC 952 does not allow
// them). RFC 6066 sends internationalised names as A-labels ("xn--..."),
// which are ASCII, so any other byte is refused, and so are IP literals
// (RFC 6066 section 3 forbids them in SNI), along with any name whose last
// label is all digits (RFC 3696 section 2), which also catches the short
// forms "127.1" and "2130706433". A wildcard ("*.example.com") is a
// pattern, not a name a client can ask for.
func checkServerName(name string) string {
	if len(name) > maxNameLen {
		return "longer than 253 bytes"
	}
	if why := checkLabels(name); why != "" {
		return why
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return "an IP address or a numeric top-level label"
	}
	return ""
}

// checkLabels returns why the dot-separated labels of name are not those
// of a host name, or "".
func checkLabels(name string) string {
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '.' {
			c := name[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Sprintf("byte 0x%02x at offset %d is not allowed in a host name", c, i)
			}
			continue
		}
		label := name[start:i]
		switch {
		case label == "":
			return "empty label"
		case len(label) > 63:
			return "label longer than 63 bytes"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "label starts or ends with a hyphen"
		}
		start = i + 1
	}
	return ""
}

// maxQuoted is how much of a name that was refused is quoted in errors:
// the client chose it, and it may be 64 KiB of anything.
const maxQuoted = 64

// quoteName quotes name for an error message, cut to maxQuoted bytes with
// its length appended when longer.
func quoteName(name string) string {
	if len(name) <= maxQuoted {
		return strconv.Quote(name)
	}
	return fmt.Sprintf("%q... (%d bytes)", name[:maxQuoted], len(name))
}
