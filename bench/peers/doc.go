// Package peers compares gotune's packages with the libraries a user would
// install instead, in the same run: jackc/puddle and sync.Pool for pool,
// caddyserver/certmagic for tlscache, hashicorp/go-cleanhttp for netx's
// client and bytedance/gopkg's gctuner for gcguard.
//
// It is a module of its own so that the peers (certmagic brings an ACME
// stack) never enter the module graph of a service that imports gotune.
// The results and the commands that produced them are in bench/README.md.
package peers
