package docgen

import (
	"fmt"
	"strings"

	"compozy.dev/setup/core/config"
)

// typeOf describes a field's type with its bounds and values.
func typeOf(f config.Field) string {
	t := string(f.Type)
	switch {
	case f.Min != nil && f.Max != nil:
		t += fmt.Sprintf(" (%d-%d)", *f.Min, *f.Max)
	case f.Min != nil:
		t += fmt.Sprintf(" (>= %d)", *f.Min)
	}
	return t
}

func driverOf(f config.Field) string {
	switch {
	case f.Section != config.SectionDatabase:
		return ""
	case f.Driver == "":
		return "both"
	}
	return f.Driver
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func codes(ss []string) string {
	var out []string
	for _, s := range ss {
		out = append(out, code(s))
	}
	return strings.Join(out, ", ")
}

// configSummary is one table of every key: type, default, environment variables and flag.
func configSummary() string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Driver | Environment | Flag |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, f := range config.Fields() {
		def := "-"
		if f.Default != "" {
			def = code(f.Default)
		}
		flag := "-"
		if f.Flag != "" {
			flag = code(f.Flag)
		}
		fmt.Fprintf(&b, "| [%s](#%s) | %s | %s | %s | %s | %s |\n", code(f.Key()), anchorOf(f), cell(typeOf(f)), def,
			orDash(driverOf(f)), orDash(codes(f.Env)), flag)
	}
	return b.String()
}

// anchorOf is the anchor of a field's heading in configReference.
func anchorOf(f config.Field) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return -1
	}, f.Key())
}

// configReference is a section per key.
func configReference() string {
	var b strings.Builder
	section := config.Section("")
	for _, f := range config.Fields() {
		if f.Section != section {
			section = f.Section
			fmt.Fprintf(&b, "### %s\n\n", code(string(section)))
		}
		fmt.Fprintf(&b, "#### %s\n\n%s\n\n", code(f.Key()), md(f.Description))
		fmt.Fprintf(&b, "- Type: %s\n", typeOf(f))
		if f.Default != "" {
			fmt.Fprintf(&b, "- Default: %s\n", code(f.Default))
		}
		if f.Enum != nil {
			fmt.Fprintf(&b, "- Values: %s\n", codes(f.Enum))
		}
		if f.Required {
			b.WriteString("- Required in every entry\n")
		}
		if d := driverOf(f); d != "" && d != "both" {
			fmt.Fprintf(&b, "- Driver: %s only\n", d)
		}
		if f.Aliases != nil {
			fmt.Fprintf(&b, "- Also spelt: %s\n", codes(f.Aliases))
		}
		if f.Env != nil {
			fmt.Fprintf(&b, "- Environment: %s\n", codes(f.Env))
		}
		if f.Flag != "" {
			fmt.Fprintf(&b, "- Flag: %s\n", code(f.Flag))
		}
		switch f.Secret {
		case config.Secret:
			b.WriteString("- Secret: never printed; `compozy config show` shows `[redacted]`\n")
		case config.HoldsSecret:
			b.WriteString("- May hold a password: printed with the password replaced by `[redacted]`\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// configEnv is the environment variables, documented and legacy, and the key each sets.
func configEnv() string {
	var b strings.Builder
	b.WriteString("| Variable | Legacy name (accepted) | Key |\n| --- | --- | --- |\n")
	for _, f := range config.Fields() {
		var doc, legacy []string
		for _, e := range f.Env {
			if strings.HasPrefix(e, "COMPOZY_") {
				doc = append(doc, e)
			} else {
				legacy = append(legacy, e)
			}
		}
		if len(doc) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", codes(doc), codes(legacy), code(f.Key()))
	}
	return b.String()
}

// configFlags is the global flags that set a key.
func configFlags() string {
	var b strings.Builder
	b.WriteString("| Flag | Key |\n| --- | --- |\n")
	for _, f := range config.Fields() {
		if f.Flag == "" {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s |\n", code(f.Flag), code(f.Key()))
	}
	return b.String()
}
