package status_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func newServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 4000 {
		return 1280
	}
	return n
}

// jsonUnmarshalHTML decodes JSON that --dump-dom wrote as HTML text.
func jsonUnmarshalHTML(s string, v any) error {
	return json.Unmarshal([]byte(html.UnescapeString(s)), v)
}
