package qdrant

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// ClientVersion is the go-client version this package is built and tested with; the build
// information's version is used when the binary carries it.
const ClientVersion = "1.17.1"

// clientVersion is the go-client version in the build information, or ClientVersion.
func clientVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/qdrant/go-client" {
				if d.Replace != nil {
					d = d.Replace
				}
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return ClientVersion
}

// majorMinor parses "1.17.0" (or "v1.17") into 1 and 17.
func majorMinor(v string) (int, int, bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	return maj, min, err1 == nil && err2 == nil
}

// VersionGap says what is wrong with a client/server pair, "" when nothing: Qdrant supports
// clients within one minor version of the server.
func VersionGap(client, server string) string {
	cM, cm, ok1 := majorMinor(client)
	sM, sm, ok2 := majorMinor(server)
	switch {
	case !ok2:
		return fmt.Sprintf("the server reports version %q, which cannot be compared with client %s", server, client)
	case !ok1:
		return ""
	case cM != sM || cm-sm > 1 || sm-cm > 1:
		newer := "the server is older: upgrade Qdrant"
		if sM > cM || (sM == cM && sm > cm) {
			newer = "the server is newer: upgrade compozy"
		}
		return fmt.Sprintf("client %s and server %s are more than one minor version apart (%s)", client, server, newer)
	}
	return ""
}
