package tlscache

import "errors"

// Sentinel errors. Errors returned by this package wrap them, so callers
// branch with [errors.Is].
var (
	// ErrClosed is returned by [Cache.GetCertificate] after [Cache.Close].
	ErrClosed = errors.New("tlscache: cache closed")

	// ErrNotFound is returned by loaders that hold no certificate for a
	// name. Loaders written by users should wrap it too, so the cache and
	// its callers can tell "no such name" from a broken loader.
	ErrNotFound = errors.New("tlscache: no certificate for name")

	// ErrLoadTimeout is returned when a load did not finish within the
	// cache's load timeout (see [WithLoadTimeout]).
	ErrLoadTimeout = errors.New("tlscache: load timed out")

	// ErrLoaderPanic is returned when a loader panicked; the panic value is
	// part of the message.
	ErrLoaderPanic = errors.New("tlscache: loader panicked")

	// ErrOverloaded is returned by [Cache.GetCertificate] for a miss that
	// would start a load while the maximum number of loads is running
	// (see [WithMaxConcurrentLoads]). It is not remembered: the next
	// handshake for the name tries again.
	ErrOverloaded = errors.New("tlscache: too many loads in progress")

	// ErrExpired is returned when a loader returned a certificate whose
	// NotAfter has already passed, or is less than a few seconds away (the
	// margin the cache keeps before NotAfter). Such a certificate is never
	// cached or served.
	ErrExpired = errors.New("tlscache: certificate expired")

	// ErrInvalidCertificate is returned when a loader returned nil, an empty
	// chain, a leaf that does not parse, or a certificate whose NotBefore
	// is still in the future.
	ErrInvalidCertificate = errors.New("tlscache: invalid certificate")

	// ErrInvalidName is returned by the ready loaders for names that cannot
	// be a host name (path separators, empty labels, bad characters).
	ErrInvalidName = errors.New("tlscache: invalid name")
)
