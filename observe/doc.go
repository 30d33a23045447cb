// Package observe shows gotune's parts to an operator in one call each:
// every method of an [Observer] registers the part's Prometheus collector
// and adds its section to a [status.Handler], with summary rows (the
// decision, its value in human units, who made it and why) and plotted
// figures. It is the wiring a service would otherwise write by hand, once
// per part, and the same code examples/server uses for its page and its
// start-up block.
//
//	page := status.New()
//	o := observe.New(prometheus.DefaultRegisterer, page)
//	o.Tune(auto.Tuner())
//	o.GCGuard(guard)
//	o.Server(srv, "api")
//	o.Client(client, "backend")
//	o.Pool(bufs, "json")
//
// # Names and errors
//
// Each method takes the part first and its name second, as every gotune
// NewCollector does; the name becomes the collectors' name label and the
// section's title. A method returns the registry's error (a name used twice
// gives prometheus.AlreadyRegisteredError) or, for a value that is not a
// gotune part (an http.Server or http.Client that netx did not build), an
// error naming it; the section is added either way where there is one, so
// a service that ignores the error still shows the part. A nil part adds
// nothing and returns nil, except for Tune, where a nil Tuner is what
// tune/auto gives under GOTUNE=off and the page says so.
//
// # Sections without an Observer
//
// The Section functions ([TuneSection], [GCGuardSection], …) return the
// sections alone, for a program that wants to change a row or add its own;
// [Observer.Add] adds any section.
//
// Importing observe links every gotune package it shows and client_golang.
// A service that wants only the one-line tune/auto import links none of it.
//
// An Observer is safe for concurrent use.
package observe
