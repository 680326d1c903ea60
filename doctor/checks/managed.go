package checks

import (
	"compozy.dev/setup/core/storage/factory"
	"compozy.dev/setup/core/storage/managed"
)

// service is the managed service the configured host shows (Amazon RDS, Supabase, ...), for
// fixes that differ there; zero when the host shows none or the settings do not parse.
func (p *pgProbe) service() managed.Service {
	cs, err := factory.PostgresConnSettings(p.cfg)
	if err != nil {
		return managed.Service{}
	}
	return managed.FromHost(cs.Host)
}

// tlsFix is fix, followed by what the managed service the host shows expects of TLS.
func (p *pgProbe) tlsFix(fix string) string { return withServiceTLS(p.service(), fix) }

// withServiceTLS is fix, followed by what the service s expects of TLS (s.TLSFix); fix alone
// when s is none.
func withServiceTLS(s managed.Service, fix string) string {
	if t := s.TLSFix(); t != "" {
		return fix + ". " + t
	}
	return fix
}
