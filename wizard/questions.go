package wizard

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

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

// recommended is the matrix's plan for the answers, without the user's own choice.
func (r *Run) recommended() Plan {
	a := r.answers()
	if !r.G.Driver {
		a.Driver = ""
	}
	if !r.G.Provider {
		a.Provider = ""
	}
	p, _ := Decide(a)
	return p
}

func (r *Run) askRecommend() (prompt.Question, error) {
	a := r.answers()
	if !r.G.Driver {
		a.Driver = ""
	}
	if !r.G.Provider {
		a.Provider = ""
	}
	p, err := Decide(a)
	if err != nil {
		return prompt.Question{}, &FlagError{Flag: "--vector-provider", Err: err}
	}
	title := fmt.Sprintf("Use %s with vector DB %s?", p.Driver, p.Provider)
	return prompt.Question{Title: title, Pane: Recommendation(p),
		Field: huh.NewConfirm().Title(title).Affirmative("Accept").Negative("Choose myself").Value(&r.accept),
		Answer: func() string {
			if r.accept {
				return fmt.Sprintf("✓ Recommendation: accepted (%s + %s)", p.Driver, p.Provider)
			}
			return "✓ Recommendation: choosing myself"
		}}, nil
}

func (r *Run) askProvider() (prompt.Question, error) {
	providers := []string{ProviderQdrant, ProviderRedis, ProviderFilesystem}
	desc := ""
	if r.A.Driver == DriverPostgres {
		providers = append([]string{ProviderPgvector}, providers...)
	} else {
		desc = "SQLite has no vector search, and pgvector is a PostgreSQL extension: with SQLite the vectors need an external vector DB."
	}
	if !contains(providers, r.A.Provider) {
		a := r.A
		a.Provider = ""
		p, err := Decide(a)
		if err != nil {
			return prompt.Question{}, err
		}
		r.A.Provider = p.Provider
	}
	return selectQ("Vector DB", desc, &r.A.Provider, huh.NewOptions(providers...), func(s string) string { return s }), nil
}

func (r *Run) connStep() step {
	var text string
	return step{id: stepConn,
		when: func() bool {
			return r.planNow().Driver == DriverPostgres && r.how == "url" && !r.G.ConnString
		},
		ask: func() (prompt.Question, error) {
			text = r.S.ConnString
			q := r.input("Connection string", "postgres://user@host:5432/compozy?sslmode=require. A password in it is moved out of the file: the file reads ${"+PasswordEnv+"}.",
				&text, ValidateConnString)
			q.Mask = func(view string) string { return maskView(view, text, false) }
			q.Answer = func() string {
				clean, pw, err := SplitPassword(NormalizeURL(text))
				if err != nil {
					return ""
				}
				if pw != "" {
					return "✓ Connection string: " + clean + " (its password goes to ${" + PasswordEnv + "}, not into the file)"
				}
				return "✓ Connection string: " + clean
			}
			return q, nil
		},
		done: func() error {
			clean, pw, err := SplitPassword(NormalizeURL(text))
			if err != nil {
				return err
			}
			prev := r.S.ConnString
			r.S.ConnString = clean
			switch {
			case pw != "":
				r.Password, r.urlPassword, r.S.Password = pw, true, true
			case clean != prev && r.urlPassword:
				// Another URL without a password: the one taken out of the old URL is not for it.
				r.Password, r.urlPassword, r.S.Password = "", false, r.G.PasswordFromEnv
			}
			if note := ConnStringSSLNote(clean); note != "" {
				r.println("! %s", note)
			}
			return nil
		}}
}

func (r *Run) portStep() step {
	var text string
	return step{id: stepPort,
		when: func() bool { return r.postgresFields() && !r.G.Port },
		ask: func() (prompt.Question, error) {
			text = strconv.Itoa(r.S.Port)
			if r.S.Port == 0 {
				text = ""
			}
			return r.input("Port", "", &text, func(s string) error { _, err := ParsePort(s); return err }), nil
		},
		done: func() error {
			p, err := ParsePort(text)
			r.S.Port = p
			return err
		}}
}

// pgvectorElsewhere says the plan puts pgvector beside a PostgreSQL database, so that where it
// lives is a question: in that PostgreSQL, or on another server.
func (r *Run) pgvectorElsewhere() bool {
	p := r.planNow()
	return p.Driver == DriverPostgres && p.Provider == ProviderPgvector
}

// Where pgvector lives, as the form's answer.
const (
	pgvSame  = "same"
	pgvOther = "other"
)

// pgvectorWhereStep asks whether pgvector lives in the PostgreSQL above (the default) or on
// another server, whose URL the next question asks.
func (r *Run) pgvectorWhereStep() step {
	return step{id: stepPgvWhere,
		when: func() bool { return r.pgvectorElsewhere() && !r.G.VectorURL },
		ask: func() (prompt.Question, error) {
			if r.pgvWhere == "" {
				r.pgvWhere = pgvSame
				if r.S.VectorURL != "" && ValidateVectorURL(ProviderPgvector, r.S.VectorURL) == nil {
					r.pgvWhere = pgvOther
				}
			}
			opts := []huh.Option[string]{
				huh.NewOption("In the same PostgreSQL (CREATE EXTENSION vector there)", pgvSame),
				huh.NewOption("On another PostgreSQL server (its URL is asked next)", pgvOther),
			}
			return selectQ("Where is pgvector?", "The vector tables can live in the PostgreSQL above, or on another server that has the pgvector extension.",
				&r.pgvWhere, opts, func(s string) string {
					if s == pgvOther {
						return "on another PostgreSQL server"
					}
					return "in the same PostgreSQL"
				}), nil
		},
		done: func() error {
			if r.pgvWhere == pgvSame {
				r.S.VectorURL, r.S.VectorSecrets = "", nil
			}
			return nil
		}}
}

func (r *Run) vectorURLStep() step {
	var text, prev string
	provider := func() string { return r.planNow().Provider }
	return step{id: stepVectorURL,
		when: func() bool {
			p := provider()
			if p == ProviderPgvector {
				return r.pgvectorElsewhere() && r.pgvWhere == pgvOther && !r.G.VectorURL
			}
			return (p == ProviderQdrant || p == ProviderRedis) && !r.G.VectorURL
		},
		ask: func() (prompt.Question, error) {
			p := provider()
			if r.S.VectorURL == "" || ValidateVectorURL(p, r.S.VectorURL) != nil {
				r.S.VectorURL, r.S.VectorSecrets = DefaultVectorURL(p), nil
			}
			text, prev = r.S.VectorURL, r.S.VectorURL
			title, desc := p+" URL", "A password or api_key in it is moved out of the file: the file reads it from ${"+VectorPasswordEnv+"} or ${"+VectorAPIKeyEnv+"}."
			if p == ProviderPgvector {
				title = "pgvector server URL"
				desc = "The PostgreSQL server with the pgvector extension: postgres://user@host:5432/vectors?sslmode=require. " +
					"A password in it is moved out of the file: the file reads it from ${" + VectorPasswordEnv + "}."
			}
			q := r.input(title, desc, &text, func(s string) error { return ValidateVectorURL(p, s) })
			q.Mask = func(view string) string { return maskView(view, text, true) }
			q.Answer = func() string {
				clean, _, err := SplitVectorURL(NormalizeURL(text))
				if err != nil {
					return ""
				}
				if secrets := References(clean); len(secrets) > 0 {
					return "✓ " + title + ": " + clean + " (its secret goes to ${" + strings.Join(secrets, "} and ${") + "}, not into the file)"
				}
				return "✓ " + title + ": " + clean
			}
			return q, nil
		},
		done: func() error {
			clean, secrets, err := SplitVectorURL(NormalizeURL(text))
			if err != nil {
				return err
			}
			if clean != prev || len(secrets) > 0 {
				// Kept as it was (asked again), the URL still reads the secrets taken out of it
				// the first time.
				r.S.VectorURL, r.S.VectorSecrets = clean, secrets
			}
			return nil
		}}
}

func (r *Run) dimensionStep() step {
	var text string
	return step{id: stepDimension,
		when: func() bool {
			p := r.planNow().Provider
			return p != ProviderNone && p != "" && !r.G.Dimension
		},
		ask: func() (prompt.Question, error) {
			text = strconv.Itoa(r.S.Dimension)
			return r.input("Embedding dimension", "The length of the embedding model's vectors (1536 for OpenAI text-embedding-3-small).",
				&text, func(s string) error { _, err := ParseDimension(s); return err }), nil
		},
		done: func() error {
			d, err := ParseDimension(text)
			r.S.Dimension = d
			return err
		}}
}

// selectQ is a list question.
func selectQ[T comparable](title, desc string, v *T, opts []huh.Option[T], label func(T) string) prompt.Question {
	f := huh.NewSelect[T]().Title(title).Options(opts...).Value(v)
	if desc != "" {
		f = f.Description(desc)
	}
	return prompt.Question{Title: title, Field: f, Answer: func() string { return "✓ " + title + " " + label(*v) }}
}

// confirmQ is a yes/no question.
func (r *Run) confirmQ(title, desc, yes, no string, v *bool) prompt.Question {
	f := huh.NewConfirm().Title(title).Affirmative(yes).Negative(no).Value(v)
	if desc != "" {
		f = f.Description(desc)
	}
	return prompt.Question{Title: title, Field: f, Answer: func() string {
		if *v {
			return "✓ " + title + " " + yes
		}
		return "✓ " + title + " " + no
	}}
}

// input asks for one text value, checked as it is typed. In accessible mode an empty line
// keeps the current value, which the title shows (the prompt itself does not).
func (r *Run) input(title, desc string, v *string, check func(string) error) prompt.Question {
	def := *v
	shown := title
	if r.opts.Accessible && def != "" {
		shown += " (Enter for " + def + ")"
	}
	validate := func(s string) error {
		if strings.TrimSpace(s) == "" && r.opts.Accessible && def != "" {
			return nil
		}
		if check != nil {
			return check(s)
		}
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("enter the %s", strings.ToLower(title))
		}
		return nil
	}
	f := huh.NewInput().Title(shown).Value(v).Validate(validate)
	if desc != "" {
		f = f.Description(desc)
	}
	return prompt.Question{Title: title, Field: f, Answer: func() string { return "✓ " + title + ": " + strings.TrimSpace(*v) }}
}

func options[T ~string](vals []T, label func(T) string) []huh.Option[T] {
	out := make([]huh.Option[T], len(vals))
	for i, v := range vals {
		out[i] = huh.NewOption(label(v), v)
	}
	return out
}

// Recommendation is the text that shows a plan: the matrix row, the choice, the reasons and
// the warnings. It is plain text (no markup): key names such as
// runtime.max_concurrent_workflows show as written.
func Recommendation(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Recommendation\nMatrix row: %s\n", p.Row)
	fmt.Fprintf(&b, "Database: %s · Vector DB: %s\n", p.RecommendedDriver, p.RecommendedProvider)
	b.WriteString("Why:\n")
	for _, r := range p.Reasons {
		fmt.Fprintf(&b, "  - %s\n", r)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	return strings.TrimRight(b.String(), "\n")
}

// secretSpans returns where the secrets of a URL are, as typed so far: the password of its
// user info (also while it is being typed, before the @), and, for a vector DB URL, the values
// of its secret query parameters (api_key, token, password, ...).
func secretSpans(s string, params bool) [][2]int {
	i := strings.Index(s, "://")
	if i < 0 {
		return nil
	}
	start := i + 3
	end := len(s)
	if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
		end = start + j
	}
	auth := s[start:end]
	var spans [][2]int
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		if c := strings.IndexByte(auth[:at], ':'); c >= 0 && c+1 < at {
			spans = append(spans, [2]int{start + c + 1, start + at})
		}
	} else if c := strings.IndexByte(auth, ':'); c >= 0 {
		// No @ yet: "user:secr" is a password being typed; "host:54" is a port.
		if after := auth[c+1:]; after != "" && strings.Trim(after, "0123456789") != "" {
			spans = append(spans, [2]int{start + c + 1, end})
		}
	}
	if q := strings.IndexByte(s, '?'); params && q >= 0 {
		off := q + 1
		for _, part := range strings.Split(s[q+1:], "&") {
			if k, v, ok := strings.Cut(part, "="); ok && v != "" && secretParamEnv(k) != "" && !hasRef(v) {
				vs := off + len(k) + 1
				spans = append(spans, [2]int{vs, vs + len(v)})
			}
			off += len(part) + 1
		}
	}
	return spans
}

// maskView hides the secrets of value (a URL being typed) where the view shows them.
func maskView(view, value string, params bool) string {
	spans := secretSpans(value, params)
	if len(spans) == 0 {
		return view
	}
	masked := []byte(value)
	var out strings.Builder
	last := 0
	for _, sp := range spans {
		out.Write(masked[last:sp[0]])
		out.WriteString(strings.Repeat("•", utf8.RuneCount(masked[sp[0]:sp[1]])))
		last = sp[1]
	}
	out.Write(masked[last:])
	if strings.Contains(view, value) {
		return strings.ReplaceAll(view, value, out.String())
	}
	// The view shows part of the value (scrolled, or split at the cursor): hide each secret
	// wherever it shows whole.
	for _, sp := range spans {
		if secret := value[sp[0]:sp[1]]; len(secret) >= 3 {
			view = strings.ReplaceAll(view, secret, strings.Repeat("•", utf8.RuneCountInString(secret)))
		}
	}
	return view
}
