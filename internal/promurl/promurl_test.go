package promurl

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string // a part of the error; empty: accepted
	}{
		{"http://prometheus.monitoring:9090", ""},
		{"https://prometheus.example.com/", ""},
		{"http://gateway:8080/prometheus", ""},
		{"prometheus:9090", "http or https URL with a host"},
		{"http://", "http or https URL with a host"},
		{"ftp://prometheus:9090", "http or https URL with a host"},
		{"http://prom:9090/%zz", "http or https URL with a host"},
		{"", "http or https URL with a host"},
		{"http://prometheus:9090/api/v1", "base URL, without /api/v1"},
		{"http://prometheus:9090/api/v1/query", "base URL, without /api/v1"},
		{"http://gateway/prometheus/api/v1/", "base URL, without /api/v1"},
		// The client keeps a query in every request it sends.
		{"http://prometheus:9090/?dedup=true", ""},
	} {
		err := Check(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Check(%q) = %v, want it accepted", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Check(%q) = %v, want an error containing %q", tc.url, err, tc.want)
		}
	}
}
