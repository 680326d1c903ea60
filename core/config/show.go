package config

import "time"

// Value is one resolved key ready to print, with its source; secrets are redacted.
type Value struct {
	// Key is the dotted key ("database.port", "knowledge.vector_dbs[0].url").
	Key string `json:"key"`
	// Value is a string, number or boolean; durations are strings ("5m"); nil when the key has
	// no default and nothing set it.
	Value any `json:"value"`
	// Source is where the value came from: "default", "compozy.yaml:3", "env COMPOZY_DB_HOST",
	// "flag --db-driver", "stdin".
	Source string `json:"source"`
	// Unused says why the value has no effect ("conn_string decides the host"); "" when it
	// is used.
	Unused string `json:"unused,omitempty"`
	// Field describes the key.
	Field Field `json:"-"`
}

// Applies reports whether the key matters with the configured driver.
func (v Value) Applies(driver string) bool { return v.Field.Driver == "" || v.Field.Driver == driver }

// Values lists every resolved key in documentation order: the database section, each vector DB
// entry, then runtime. Secret values are Redacted; passwords inside URLs and connection strings
// are redacted in place.
func (c *Config) Values() []Value {
	var out []Value
	add := func(f Field, i int) {
		key := f.KeyAt(i)
		src := c.Sources[key]
		v := f.get(c, i)
		if src.Kind == SourceDefault && f.Default == "" {
			v = nil
		}
		unused := c.Unused[key]
		if key == passwordKey && c.hiddenPassword {
			// Given, but conn_string's password is used: Database.Password is "".
			v = Redacted
		}
		switch x := v.(type) {
		case time.Duration:
			v = formatDuration(x)
		case string:
			switch {
			case x == "":
			case f.Secret == Secret:
				v = Redacted
			case f.Secret == HoldsSecret:
				v = Redact(x)
			}
		}
		out = append(out, Value{Key: key, Value: v, Source: src.String(), Unused: unused, Field: f})
	}
	fields := Fields()
	for _, section := range []Section{SectionDatabase, SectionVectorDB, SectionRuntime} {
		n := 1
		if section == SectionVectorDB {
			n = len(c.Knowledge.VectorDBs)
		}
		for i := range n {
			for _, f := range fields {
				if f.Section == section {
					add(f, i)
				}
			}
		}
	}
	return out
}

// String renders the value for people: "(not set)" when empty.
func (v Value) String() string {
	if v.Value == nil || v.Value == "" {
		return "(not set)"
	}
	return formatValue(v.Value)
}
