package main

import (
	"encoding/json"
	"hash/fnv"
	"net"
	"net/http"
	"time"
)

// startUpstream starts the demo price service on loopback: a deterministic
// price per symbol. It returns its base URL and a stop func.
func startUpstream() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := fnv.New32a()
		h.Write([]byte(r.URL.Query().Get("symbol")))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]float64{"price": float64(h.Sum32()%100000) / 100}) //nolint:errcheck // demo
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
