package docgen

import (
	"fmt"
	"strings"

	"compozy.dev/setup/wizard"
)

// vectorColumns are the vector-search answers of the matrix table, "" meaning no knowledge bases.
func vectorColumns() []wizard.Available {
	return []wizard.Available{"", wizard.AvailNone, wizard.AvailPgvector, wizard.AvailQdrant, wizard.AvailRedis}
}

// decide runs the matrix; the answers are always in range, so an error is a bug worth showing.
func decide(u wizard.UseCase, w wizard.Workflows, server bool, avail wizard.Available) wizard.Plan {
	p, err := wizard.Decide(wizard.Answers{UseCase: u, Workflows: w, Server: server, Vectors: avail != "", Available: avail})
	if err != nil {
		return wizard.Plan{Driver: "error: " + err.Error()}
	}
	return p
}

// availLabel is a short column header; the text above the table says what the columns are.
func availLabel(a wizard.Available) string {
	switch a {
	case "":
		return "No KB"
	case wizard.AvailNone:
		return "KB: none"
	}
	return "KB: " + string(a)
}

// decisionMatrix is every answer of `compozy init` and the plan wizard.Decide makes of it. Bands
// of concurrent workflows that lead to the same plans share a row.
func decisionMatrix() string {
	var b strings.Builder
	b.WriteString("Each cell is `driver + vector DB` as `compozy init` recommends it. Server: a PostgreSQL server can be run or reached. Workflows: how many run at once. Columns: no knowledge bases (No KB), or knowledge bases and what already exists for vector search (KB: none, a PostgreSQL you can add pgvector to, Qdrant, Redis with RediSearch 2.4+).\n\n")
	b.WriteString("| Use case | Server | Workflows |")
	for _, a := range vectorColumns() {
		b.WriteString(" " + availLabel(a) + " |")
	}
	b.WriteString("\n| --- | --- | --- |" + strings.Repeat(" --- |", len(vectorColumns())) + "\n")
	for _, u := range wizard.UseCases() {
		for _, server := range []bool{true, false} {
			type row struct {
				bands []wizard.Workflows
				cells []string
			}
			var rows []row
			for _, w := range wizard.WorkflowBands() {
				var cells []string
				for _, a := range vectorColumns() {
					p := decide(u, w, server, a)
					cells = append(cells, p.Driver+" + "+p.Provider)
				}
				if n := len(rows); n > 0 && strings.Join(rows[n-1].cells, "|") == strings.Join(cells, "|") {
					rows[n-1].bands = append(rows[n-1].bands, w)
					continue
				}
				rows = append(rows, row{[]wizard.Workflows{w}, cells})
			}
			for _, r := range rows {
				fmt.Fprintf(&b, "| %s | %s | %s |", u.Label(), yesNo(server), bandRange(r.bands))
				for _, c := range r.cells {
					b.WriteString(" " + cell(c) + " |")
				}
				b.WriteString("\n")
			}
		}
	}
	return b.String()
}

func yesNo(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// bandRange joins consecutive bands: 1-10, 10-25, 25-100 become "1-100"; all of them, "any".
func bandRange(bands []wizard.Workflows) string {
	if len(bands) == 1 {
		return string(bands[0])
	}
	if len(bands) == len(wizard.WorkflowBands()) {
		return "any"
	}
	first, _, _ := strings.Cut(string(bands[0]), "-")
	last := string(bands[len(bands)-1])
	if _, hi, ok := strings.Cut(last, "-"); ok {
		return first + "-" + hi
	}
	return first + "+" // the open band closes the range
}

// decisionFlowchart is the driver half of the matrix as a Mermaid flowchart: use cases that
// lead to the same drivers share a branch, and only the questions that change the driver are
// asked.
func decisionFlowchart() string {
	type outcome struct {
		base, noServer, many, pgvector string
	}
	var groups []struct {
		o     outcome
		cases []wizard.UseCase
	}
	for _, u := range wizard.UseCases() {
		o := outcome{
			base:     decide(u, wizard.Workflows1to10, true, "").Driver,
			noServer: decide(u, wizard.Workflows1to10, false, "").Driver,
			many:     decide(u, wizard.Workflows100Plus, true, "").Driver,
			pgvector: decide(u, wizard.Workflows1to10, true, wizard.AvailPgvector).Driver,
		}
		found := false
		for i := range groups {
			if groups[i].o == o {
				groups[i].cases = append(groups[i].cases, u)
				found = true
			}
		}
		if !found {
			groups = append(groups, struct {
				o     outcome
				cases []wizard.UseCase
			}{o, []wizard.UseCase{u}})
		}
	}
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TD\n")
	b.WriteString("  start{\"What is the setup for?\"}\n")
	b.WriteString("  postgres[\"PostgreSQL (driver: postgres)\"]\n")
	b.WriteString("  sqlite[\"SQLite (driver: sqlite)\"]\n")
	for i, g := range groups {
		var labels []string
		for _, u := range g.cases {
			labels = append(labels, u.Label())
		}
		q := fmt.Sprintf("g%d", i)
		if g.o.base == wizard.DriverPostgres {
			fmt.Fprintf(&b, "  start -->|\"%s\"| %s{\"Can a PostgreSQL server be run or reached?\"}\n", strings.Join(labels, ", "), q)
			fmt.Fprintf(&b, "  %s -->|yes| %s\n", q, g.o.base)
			fmt.Fprintf(&b, "  %s -->|\"no (one process only)\"| %s\n", q, g.o.noServer)
			continue
		}
		fmt.Fprintf(&b, "  start -->|\"%s\"| %s{\"100+ workflows at once, or a PostgreSQL with pgvector at hand?\"}\n", strings.Join(labels, ", "), q)
		fmt.Fprintf(&b, "  %s -->|no| %s\n", q, g.o.base)
		if g.o.many == g.o.pgvector {
			fmt.Fprintf(&b, "  %s -->|\"yes, and a server can be run\"| %s\n", q, g.o.many)
		} else {
			fmt.Fprintf(&b, "  %s -->|\"100+ workflows, server available\"| %s\n", q, g.o.many)
			fmt.Fprintf(&b, "  %s -->|\"pgvector at hand\"| %s\n", q, g.o.pgvector)
		}
	}
	b.WriteString("  sqlite --> vec{\"Knowledge bases needed?\"}\n")
	b.WriteString("  vec -->|yes| ext[\"External vector DB required: qdrant, redis or filesystem\"]\n")
	b.WriteString("  vec -->|no| done[\"No vector DB\"]\n")
	b.WriteString("  postgres --> pgv[\"pgvector in the same PostgreSQL (or qdrant / redis)\"]\n")
	b.WriteString("```\n")
	return b.String()
}

// vectorMatrix is the vector half of the matrix: for each driver and what exists for vector
// search, the vector DB `compozy init` recommends.
func vectorMatrix() string {
	var b strings.Builder
	b.WriteString("| Driver (use case) | Nothing yet | PostgreSQL I can add pgvector to | Qdrant | Redis with RediSearch 2.4 or later |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, c := range []struct {
		label  string
		u      wizard.UseCase
		server bool
	}{
		{"postgres (Production / multi-tenant)", wizard.UseProduction, true},
		{"sqlite (Local development, CI, Edge)", wizard.UseDev, false},
		{"sqlite (Single-tenant server)", wizard.UseSingleTenant, true},
	} {
		b.WriteString("| " + c.label + " |")
		for _, a := range []wizard.Available{wizard.AvailNone, wizard.AvailPgvector, wizard.AvailQdrant, wizard.AvailRedis} {
			p := decide(c.u, wizard.Workflows1to10, c.server, a)
			if p.Driver != strings.Fields(c.label)[0] {
				b.WriteString(" " + p.Driver + " + " + p.Provider + " |")
				continue
			}
			b.WriteString(" " + p.Provider + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}
