package qdrant

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Endpoint is where a URL points: the gRPC address, TLS, the REST base for fix commands, and
// a note on the address choice.
type Endpoint struct {
	Addr string
	TLS  bool
	REST string
	Note string
}

// ParseURL maps a configured URL to the gRPC endpoint.
func ParseURL(raw string) (Endpoint, error) {
	if strings.TrimSpace(raw) == "" {
		raw = "http://localhost:6333"
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole URL, and its reason quotes the part it choked on (often a
		// piece of the password): say what is wrong without either.
		return Endpoint{}, errors.New("not a valid URL (percent-encode special characters in the password or api_key)")
	}
	host := u.Hostname()
	if host == "" {
		return Endpoint{}, errors.New("the URL has no host")
	}
	port := u.Port()
	var ep Endpoint
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		ep.TLS = u.Scheme == "https"
		ep.Addr = net.JoinHostPort(host, strconv.Itoa(DefaultGRPCPort))
		restPort := port
		if restPort == "" {
			restPort = strconv.Itoa(DefaultRESTPort)
		}
		ep.REST = u.Scheme + "://" + net.JoinHostPort(host, restPort)
		switch port {
		case "", strconv.Itoa(DefaultRESTPort):
			ep.Note = fmt.Sprintf("the url names the REST port; compozy uses gRPC on port %d of the same host", DefaultGRPCPort)
		default:
			ep.Note = fmt.Sprintf("the url names port %s, taken as the REST port; compozy uses gRPC on port %d. If gRPC is published elsewhere, write url: grpc://%s:PORT",
				port, DefaultGRPCPort, host)
		}
	case "grpc", "grpcs":
		ep.TLS = u.Scheme == "grpcs"
		if port == "" {
			port = strconv.Itoa(DefaultGRPCPort)
		}
		ep.Addr = net.JoinHostPort(host, port)
		scheme := "http"
		if ep.TLS {
			scheme = "https"
		}
		ep.REST = scheme + "://" + net.JoinHostPort(host, strconv.Itoa(DefaultRESTPort))
		ep.Note = "the url names the gRPC port"
	default:
		return Endpoint{}, fmt.Errorf("scheme %q is not one of http, https, grpc, grpcs", u.Scheme)
	}
	return ep, nil
}

func passwordOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	return ""
}

// apiKey finds the key: opts.APIKey, the URL's password, api_key, api_key_env, QDRANT_API_KEY.
func apiKey(opts Options) (key, from string) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if opts.APIKey != "" {
		return opts.APIKey, "options"
	}
	u, err := url.Parse(opts.URL)
	if err == nil && opts.URL != "" {
		if p, ok := u.User.Password(); ok && p != "" {
			return p, "the url's password"
		}
		q := u.Query()
		if k := q.Get("api_key"); k != "" {
			return k, "the url's api_key parameter"
		}
		if name := q.Get("api_key_env"); name != "" {
			return getenv(name), "$" + name
		}
	}
	if k := getenv("QDRANT_API_KEY"); k != "" {
		return k, "$QDRANT_API_KEY"
	}
	return "", ""
}
