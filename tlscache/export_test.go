package tlscache

// Internals reached by the external tests.
var (
	Normalize       = normalize
	WildcardKey     = wildcardKey
	ValidHostname   = validHostname
	CheckServerName = checkServerName
	QuoteName       = quoteName
)
