package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/invopop/jsonschema"
	orderedmap "github.com/pb33f/ordered-map/v2"
)

// Patterns of the schema.
const (
	// envRefPattern matches a string that holds a ${VAR} or ${VAR:-default} reference, which
	// Load expands before it checks the type.
	envRefPattern = `\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}`
	// durationPattern matches a Go duration: 30s, 5m, 1h30m, 250ms.
	durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
	envRefDef       = "env_reference"
)

// Schema returns the JSON Schema (draft 2020-12) of the parts of compozy.yaml this tool reads,
// built from Fields. The database section and vector DB entries allow no other keys; the top
// level, knowledge and runtime stay open, because the rest of Compozy owns their other keys.
func Schema() *jsonschema.Schema {
	fields := Fields()
	section := func(sec Section) *jsonschema.Schema {
		s := &jsonschema.Schema{Type: "object", Properties: props(), AdditionalProperties: jsonschema.FalseSchema}
		for _, f := range fields {
			if f.Section != sec {
				continue
			}
			s.Properties.Set(f.Name, fieldSchema(f))
			for _, a := range f.Aliases {
				alias := fieldSchema(f)
				alias.Description = "Alias of " + f.Name + "; set only one of them."
				alias.Default = nil
				s.Properties.Set(a, alias)
				s.AllOf = append(s.AllOf, &jsonschema.Schema{Not: &jsonschema.Schema{Required: []string{f.Name, a}}})
			}
			if f.Required {
				s.Required = append(s.Required, f.Name)
			}
		}
		return s
	}

	database := section(SectionDatabase)
	database.Description = "Where Compozy keeps workflow and task state."
	database.AllOf = append(database.AllOf, ifThen(
		&jsonschema.Schema{Properties: props("driver", &jsonschema.Schema{Const: DriverSQLite}), Required: []string{"driver"}},
		&jsonschema.Schema{Required: []string{"path"}}))

	vectorDB := section(SectionVectorDB)
	vectorDB.Description = "One vector database for knowledge bases."
	vectorDB.AllOf = append(vectorDB.AllOf,
		ifThen(providerIs("qdrant", "redis"), &jsonschema.Schema{Required: []string{"url"}}),
		ifThen(providerIs("filesystem"), &jsonschema.Schema{Required: []string{"path"}}))

	runtime := &jsonschema.Schema{Type: "object", Properties: props(),
		Description: "Compozy's runtime settings; only max_concurrent_workflows is read here."}
	for _, f := range fields {
		if f.Section == SectionRuntime {
			runtime.Properties.Set(f.Name, fieldSchema(f))
		}
	}

	knowledge := &jsonschema.Schema{Type: "object", Description: "Knowledge bases; only vector_dbs is read here.",
		Properties: props("vector_dbs", &jsonschema.Schema{Type: "array", Items: vectorDB,
			Description: "Vector databases. SQLite has no vector search, so with driver sqlite at least one qdrant, redis or filesystem entry is needed for knowledge bases."})}

	// SQLite cannot host pgvector.
	sqliteNoPgvector := ifThen(
		&jsonschema.Schema{
			Properties: props("database", &jsonschema.Schema{Properties: props("driver", &jsonschema.Schema{Const: DriverSQLite}), Required: []string{"driver"}}),
			Required:   []string{"database"},
		},
		&jsonschema.Schema{Properties: props("knowledge", &jsonschema.Schema{Properties: props("vector_dbs", &jsonschema.Schema{
			Items: &jsonschema.Schema{Properties: props("provider", &jsonschema.Schema{
				Not:         &jsonschema.Schema{Const: "pgvector"},
				Description: "pgvector provider is incompatible with SQLite driver: use qdrant, redis or filesystem.",
			})},
		})})})

	return &jsonschema.Schema{
		Version:     jsonschema.Version,
		Title:       "compozy.yaml: database and vector DB settings",
		Description: "The sections of compozy.yaml that compozy setup reads. Other top-level sections belong to the rest of Compozy and are not described here. String values may hold ${VAR} or ${VAR:-default} references to environment variables.",
		Type:        "object",
		Properties:  props("database", database, "knowledge", knowledge, "runtime", runtime),
		AllOf:       []*jsonschema.Schema{sqliteNoPgvector},
		Definitions: jsonschema.Definitions{envRefDef: {
			Type:        "string",
			Pattern:     envRefPattern,
			Description: "A string holding a ${VAR} or ${VAR:-default} reference, expanded from the environment when the file is read.",
		}},
	}
}

// SchemaJSON is Schema as indented JSON, ending with a newline: the content of
// schemas/config-database.json.
func SchemaJSON() ([]byte, error) {
	b, err := json.MarshalIndent(Schema(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode JSON schema: %w", err)
	}
	return append(b, '\n'), nil
}

// fieldSchema is the schema of one key.
func fieldSchema(f Field) *jsonschema.Schema {
	s := &jsonschema.Schema{Description: f.Description}
	if f.Default != "" {
		if v, err := convert(f, stringScalar(f.Default)); err == nil {
			s.Default = schemaValue(v)
		}
	}
	ref := &jsonschema.Schema{Ref: "#/$defs/" + envRefDef}
	switch f.Type {
	case TypeString, TypePath:
		s.Type = "string"
		if f.Enum != nil {
			s.Type = ""
			s.AnyOf = []*jsonschema.Schema{{Type: "string", Enum: anySlice(f.Enum)}, ref}
		}
	case TypeInteger:
		n := &jsonschema.Schema{Type: "integer"}
		if f.Min != nil {
			n.Minimum = json.Number(strconv.Itoa(*f.Min))
		}
		if f.Max != nil {
			n.Maximum = json.Number(strconv.Itoa(*f.Max))
		}
		s.AnyOf = []*jsonschema.Schema{n, ref}
	case TypeBoolean:
		s.AnyOf = []*jsonschema.Schema{{Type: "boolean"}, ref}
	case TypeDuration:
		s.AnyOf = []*jsonschema.Schema{{Type: "string", Pattern: durationPattern}, {Const: 0, Type: "integer"}, ref}
	case TypeMilliseconds:
		s.AnyOf = []*jsonschema.Schema{{Type: "integer", Minimum: "0", Description: "milliseconds"}, {Type: "string", Pattern: durationPattern}, ref}
	}
	return s
}

// schemaValue is a default as JSON shows it: durations as strings.
func schemaValue(v any) any {
	if d, ok := v.(time.Duration); ok {
		return formatDuration(d)
	}
	return v
}

// props builds ordered properties from name, schema pairs.
func props(pairs ...any) *orderedmap.OrderedMap[string, *jsonschema.Schema] {
	m := jsonschema.NewProperties()
	for i := 0; i+1 < len(pairs); i += 2 {
		m.Set(pairs[i].(string), pairs[i+1].(*jsonschema.Schema))
	}
	return m
}

func ifThen(cond, then *jsonschema.Schema) *jsonschema.Schema {
	return &jsonschema.Schema{If: cond, Then: then}
}

// providerIs is the condition "provider is one of names".
func providerIs(names ...string) *jsonschema.Schema {
	return &jsonschema.Schema{Properties: props("provider", &jsonschema.Schema{Enum: anySlice(names)}), Required: []string{"provider"}}
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
