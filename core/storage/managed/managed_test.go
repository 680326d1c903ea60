package managed

import (
	"strings"
	"testing"
)

func TestFromHost(t *testing.T) {
	for _, c := range []struct {
		host string
		want Kind
	}{
		{"mydb.abc123xyz.eu-west-1.rds.amazonaws.com", RDS},
		{"aurora.cluster-abc.us-east-1.rds.amazonaws.com.", RDS},
		{"db.x.rds.amazonaws.com.cn", RDS},
		{"/cloudsql/project:europe-west1:instance", CloudSQL},
		{"/var/run/cloudsql/project:region:inst", CloudSQL},
		{"abc.europe-west1.sql.goog", CloudSQL},
		{"db.abcdefghijkl.supabase.co", Supabase},
		{"aws-0-eu-central-1.pooler.supabase.com", Supabase},
		{"ep-cool-darkness-123456.us-east-2.aws.neon.tech", Neon},
		{"ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", Neon},
		{"MyServer.Postgres.Database.Azure.com", Azure},
		{"localhost", ""},
		{"127.0.0.1", ""},
		{"/var/run/postgresql", ""},
		{"", ""},
		{"rds.amazonaws.com.evil.example", ""},
		{"notsupabase.co", ""},
	} {
		s := FromHost(c.host)
		if s.Kind != c.want {
			t.Errorf("FromHost(%q) = %q, want %q", c.host, s.Kind, c.want)
		}
		if s.Known() != (c.want != "") || s.Known() && (s.Name == "" || s.ExtensionFix() == "" || s.TLSFix() == "") {
			t.Errorf("FromHost(%q) = %+v: a known service has a name and both fixes", c.host, s)
		}
	}
}

func TestFixesNameTheService(t *testing.T) {
	for kind, want := range map[Kind][]string{
		RDS:      {"rds_superuser", "CREATE EXTENSION vector"},
		CloudSQL: {"cloudsqlsuperuser"},
		Supabase: {"dashboard", "create extension vector with schema extensions"},
		Neon:     {"neon_superuser"},
		Azure:    {"azure.extensions"},
	} {
		fix := Service{Kind: kind}.ExtensionFix()
		for _, w := range want {
			if !strings.Contains(fix, w) {
				t.Errorf("%s: extension fix %q does not say %q", kind, fix, w)
			}
		}
	}
	if (Service{}).ExtensionFix() != "" || (Service{}).TLSFix() != "" {
		t.Error("no service, yet a fix")
	}
}
