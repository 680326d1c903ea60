package wizard

import (
	"context"
	"strings"

	"github.com/charmbracelet/huh"

	"compozy.dev/setup/wizard/prompt"
)

// The questions, in order. Each is asked when its condition holds (the flags did not answer
// it, and the answers before make it relevant); Shift-Tab goes back to the one asked before.
const (
	stepUseCase   = "use-case"
	stepWorkflows = "workflows"
	stepVectors   = "vectors"
	stepServer    = "server"
	stepAvailable = "available"
	stepRecommend = "recommend"
	stepDriver    = "driver"
	stepProvider  = "provider"
	stepSQLite    = "sqlite-path"
	stepHow       = "postgres-how"
	stepConn      = "conn-string"
	stepHost      = "host"
	stepPort      = "port"
	stepUser      = "user"
	stepName      = "name"
	stepSSL       = "ssl-mode"
	stepPassword  = "password"
	stepPgvWhere  = "pgvector-where"
	stepVectorURL = "vector-url"
	stepVectorDir = "vector-path"
	stepDimension = "dimension"
)

// step is one question of the wizard.
type step struct {
	id   string
	when func() bool
	// ask builds the question from the answers so far (so that going back shows them).
	ask func() (prompt.Question, error)
	// done takes the answer in; an error is shown and the question asked again.
	done func() error
	// note, in accessible mode, is printed instead of asking (a hidden password cannot be
	// read line by line).
	note func() string
}

// questions asks every question that applies, starting at the step named from ("" for the
// first), with the questions before it as the way back.
func (r *Run) questions(ctx context.Context, from string) error {
	steps := r.steps()
	i := 0
	for k, st := range steps {
		if st.id == from {
			i = k
		}
	}
	var back []int
	for k := 0; k < i; k++ {
		if steps[k].when() {
			back = append(back, k)
		}
	}
	for i < len(steps) {
		st := steps[i]
		if !st.when() {
			i++
			continue
		}
		if st.note != nil && r.opts.Accessible {
			r.ui.Println(st.note())
			i++
			continue
		}
		q, err := st.ask()
		if err != nil {
			return err
		}
		q.First = len(back) == 0
		out, err := r.ui.Ask(ctx, q)
		if err != nil {
			return err
		}
		if out == prompt.Back {
			if n := len(back); n > 0 {
				i, back = back[n-1], back[:n-1]
			}
			continue
		}
		if st.done != nil {
			if err := st.done(); err != nil {
				r.println("✗ %s: %v", q.Title, err)
				continue
			}
		}
		back = append(back, i)
		i++
	}
	return nil
}

// planNow is the plan of the answers so far ("" driver when they do not make one yet).
func (r *Run) planNow() Plan {
	p, _ := r.plan()
	return p
}

func (r *Run) postgresFields() bool {
	return r.planNow().Driver == DriverPostgres && r.S.ConnString == "" && r.how == "fields"
}

func (r *Run) steps() []step {
	return []step{
		{id: stepUseCase, when: func() bool { return !r.G.UseCase }, ask: func() (prompt.Question, error) {
			if r.A.UseCase == "" {
				r.A.UseCase = UseDev
			}
			return selectQ("What is this setup for?", "", &r.A.UseCase, options(UseCases(), UseCase.Label), UseCase.Label), nil
		}},
		{id: stepWorkflows, when: func() bool { return !r.G.Workflows }, ask: func() (prompt.Question, error) {
			if r.A.Workflows == "" {
				r.A.Workflows = Workflows1to10
			}
			label := func(w Workflows) string { return string(w) }
			return selectQ("How many workflows run at once?", "", &r.A.Workflows, options(WorkflowBands(), label), label), nil
		}},
		{id: stepVectors, when: func() bool { return !r.G.Vectors }, ask: func() (prompt.Question, error) {
			return r.confirmQ("Do you need knowledge bases (vector search)?", "", "Yes", "No", &r.A.Vectors), nil
		}},
		{id: stepServer, when: func() bool { return !r.G.Server }, ask: func() (prompt.Question, error) {
			return r.confirmQ("Can you run or reach a PostgreSQL server?", "A server of your own, a managed one, or a container.", "Yes", "No", &r.A.Server), nil
		}},
		{id: stepAvailable, when: func() bool { return r.A.Vectors && !r.G.Available }, ask: func() (prompt.Question, error) {
			opts := AvailableOptions()
			if !r.A.Server {
				opts = opts[1:] // no PostgreSQL, so no pgvector
			}
			if r.A.Available == "" || (!r.A.Server && r.A.Available == AvailPgvector) {
				r.A.Available = AvailNone
			}
			return selectQ("For vector search, what do you already have?", "", &r.A.Available, options(opts, Available.Label), Available.Label), nil
		}},
		{id: stepRecommend, when: func() bool { return !(r.G.Driver && (r.G.Provider || !r.A.Vectors)) }, ask: r.askRecommend,
			done: func() error {
				if r.accept {
					if !r.G.Driver {
						r.A.Driver = ""
					}
					if !r.G.Provider {
						r.A.Provider = ""
					}
				}
				return nil
			}},
		{id: stepDriver, when: func() bool { return !r.accept && !r.G.Driver }, ask: func() (prompt.Question, error) {
			if r.A.Driver == "" {
				r.A.Driver = r.recommended().Driver
			}
			opts := []huh.Option[string]{huh.NewOption("sqlite: one process; a file", DriverSQLite), huh.NewOption("postgres: a server; several processes", DriverPostgres)}
			return selectQ("Database driver", "", &r.A.Driver, opts, func(s string) string { return s }), nil
		}, done: func() error {
			if r.A.Driver == DriverSQLite && r.A.Provider == ProviderPgvector {
				r.A.Provider = ""
			}
			return nil
		}},
		{id: stepProvider, when: func() bool { return !r.accept && r.A.Vectors && !r.G.Provider }, ask: r.askProvider},
		{id: stepSQLite, when: func() bool { return r.planNow().Driver == DriverSQLite && !r.G.SQLitePath }, ask: func() (prompt.Question, error) {
			return r.input("SQLite database file",
				"Relative to "+r.env.Target.Shown+"'s folder; :memory: keeps the data only while the process runs. WAL, busy_timeout 5s and synchronous normal are preset.",
				&r.S.SQLitePath, func(s string) error { return ValidateSQLitePath(r.base(), s) }), nil
		}, done: trim(&r.S.SQLitePath)},
		{id: stepHow, when: func() bool { return r.planNow().Driver == DriverPostgres && !r.G.ConnString && !r.G.Host }, ask: func() (prompt.Question, error) {
			opts := []huh.Option[string]{huh.NewOption("Host, port, user and database", "fields"), huh.NewOption("A connection string (postgres://...)", "url")}
			return selectQ("How do you connect to PostgreSQL?", "", &r.how, opts, func(s string) string {
				if s == "url" {
					return "a connection string"
				}
				return "host, port, user and database"
			}), nil
		}, done: func() error {
			if r.how == "fields" {
				r.S.ConnString = ""
				if r.urlPassword {
					r.Password, r.urlPassword, r.S.Password = "", false, r.G.PasswordFromEnv
				}
			}
			return nil
		}},
		r.connStep(),
		{id: stepHost, when: func() bool { return r.postgresFields() && !r.G.Host }, ask: func() (prompt.Question, error) {
			return r.input("Host", "The PostgreSQL server's host name or IP address (localhost for this machine).", &r.S.Host, ValidateHost), nil
		}, done: trim(&r.S.Host)},
		r.portStep(),
		{id: stepUser, when: func() bool { return r.postgresFields() && !r.G.User }, ask: func() (prompt.Question, error) {
			return r.input("User", "", &r.S.User, ValidateName("PostgreSQL user")), nil
		}, done: trim(&r.S.User)},
		{id: stepName, when: func() bool { return r.postgresFields() && !r.G.Name }, ask: func() (prompt.Question, error) {
			return r.input("Database", "", &r.S.Name, ValidateName("PostgreSQL database")), nil
		}, done: trim(&r.S.Name)},
		{id: stepSSL, when: func() bool { return r.postgresFields() && !r.G.SSLMode }, ask: func() (prompt.Question, error) {
			if r.S.SSLMode == r.sslOffered || r.S.SSLMode == "" {
				// Not chosen by the user (still what was offered): follow the host.
				r.S.SSLMode = SSLModeFor(r.S.Host)
				r.sslOffered = r.S.SSLMode
			}
			opts := make([]huh.Option[string], len(SSLModes))
			for i, m := range SSLModes {
				opts[i] = huh.NewOption(m, m)
			}
			return selectQ("SSL mode", SSLExplanation(r.S.Host), &r.S.SSLMode, opts, func(s string) string { return s }), nil
		}},
		{id: stepPassword, when: func() bool {
			return r.planNow().Driver == DriverPostgres && !r.G.PasswordFromEnv && !r.urlPassword
		}, ask: func() (prompt.Question, error) {
			title := "Password (for the connection test; the file gets ${" + PasswordEnv + "})"
			return prompt.Question{Title: "Password",
				Field: huh.NewInput().Title(title).Description("Leave empty when the server asks for none.").
					EchoMode(huh.EchoModePassword).Value(&r.Password),
				Answer: func() string {
					if r.Password == "" {
						return "✓ Password: none"
					}
					return "✓ Password: hidden; the file reads ${" + PasswordEnv + "}"
				}}, nil
		}, done: func() error {
			r.S.Password = r.Password != ""
			r.passwordTyped = r.Password != ""
			return nil
		}, note: func() string {
			if r.pwNoted {
				return ""
			}
			r.pwNoted = true
			return "Password: not asked here (a hidden answer cannot be read line by line). Set " + PasswordEnv + " in the environment (or pipe it to --db-password-stdin) for the connection test; the file reads it from ${" + PasswordEnv + "}."
		}},
		r.pgvectorWhereStep(),
		r.vectorURLStep(),
		{id: stepVectorDir, when: func() bool { return r.planNow().Provider == ProviderFilesystem && !r.G.VectorPath }, ask: func() (prompt.Question, error) {
			return r.input("Vector store folder", "Relative to "+r.env.Target.Shown+"'s folder; created 0700.", &r.S.VectorPath,
				func(s string) error { return ValidateFolder(r.base(), s) }), nil
		}, done: trim(&r.S.VectorPath)},
		r.dimensionStep(),
	}
}

func trim(v *string) func() error {
	return func() error {
		*v = strings.TrimSpace(*v)
		return nil
	}
}
