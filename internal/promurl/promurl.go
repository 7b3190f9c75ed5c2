// Package promurl checks the Prometheus address a component is given,
// before the component starts and then fails every query.
package promurl

import (
	"errors"
	"net/url"
	"strings"
)

// Check returns an error unless raw is a base URL the Prometheus API
// client can query: http or https, with a host ("prometheus:9090" parses as
// scheme "prometheus"), and without the /api/v1 the client adds itself.
// A path prefix, as behind a proxy, is kept.
func Check(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return errors.New("must be an http or https URL with a host, e.g. http://prometheus.monitoring:9090")
	case strings.Contains(strings.TrimSuffix(u.Path, "/")+"/", "/api/v1/"):
		return errors.New("must be the base URL, without /api/v1: the client adds it to each query")
	}
	return nil
}
