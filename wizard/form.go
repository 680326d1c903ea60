package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/huh"

	"compozy.dev/setup/core/config"
)

// ErrAborted is returned when the user leaves the form (Ctrl-C or Esc).
var ErrAborted = errors.New("aborted")

// ErrInputEnded is returned in accessible mode when standard input ends before every question
// has an answer: huh would silently take the defaults.
var ErrInputEnded = errors.New("standard input ended before every question was answered")

// Given says which answers and settings came from flags: the form does not ask them again.
type Given struct {
	UseCase, Workflows, Vectors, Server, Available bool
	Driver, Provider                               bool
	SQLitePath, ConnString, Host, Port, User, Name bool
	SSLMode, VectorURL, VectorPath, Dimension      bool
	// PasswordFromEnv says the password is already known (environment or stdin).
	PasswordFromEnv bool
}

// Form asks the wizard's questions with huh, one step at a time, so that each step follows
// the answers before it, in the same way on a terminal and in accessible mode.
type Form struct {
	in         io.Reader
	out        io.Writer
	accessible bool
	eof        *atomic.Bool
}

// NewForm returns a form reading in and writing out. In accessible mode (plain numbered
// prompts for screen readers and piped answers) in is read one line per Read, so that every
// prompt gets its own line.
func NewForm(in io.Reader, out io.Writer, accessible bool) *Form {
	f := &Form{in: in, out: out, accessible: accessible, eof: &atomic.Bool{}}
	if accessible {
		f.in = &lineReader{r: in, eof: f.eof}
	}
	return f
}

// Accessible reports whether the form runs in accessible mode.
func (f *Form) Accessible() bool { return f.accessible }

// lineReader returns at most one line per Read: huh's accessible prompts each make a new
// scanner on the reader and would lose whatever a previous one read ahead. It records EOF.
type lineReader struct {
	r   io.Reader
	eof *atomic.Bool
}

// Read reads up to and including the next newline, one byte at a time.
func (l *lineReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := l.r.Read(p[n : n+1])
		n += m
		if err != nil {
			if errors.Is(err, io.EOF) {
				l.eof.Store(true)
			}
			return n, err
		}
		if m == 1 && p[n-1] == '\n' {
			break
		}
	}
	return n, nil
}

func keyMap() *huh.KeyMap {
	km := huh.NewDefaultKeyMap()
	km.Quit = key.NewBinding(key.WithKeys("ctrl+c", "esc"), key.WithHelp("esc", "quit"))
	return km
}

// run runs one step. In accessible mode huh's Select indexes its options with whatever was
// read, and panics when standard input has ended: that panic becomes ErrInputEnded.
func (f *Form) run(ctx context.Context, fields ...huh.Field) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if !f.accessible || !f.eof.Load() {
				panic(r)
			}
			err = ErrInputEnded
		}
	}()
	form := huh.NewForm(huh.NewGroup(fields...)).WithInput(f.in).WithOutput(f.out).WithKeyMap(keyMap()).WithShowHelp(true)
	if f.accessible {
		form = form.WithAccessible(true)
	}
	err = form.RunWithContext(ctx)
	switch {
	case errors.Is(err, huh.ErrUserAborted), errors.Is(err, context.Canceled):
		return ErrAborted
	case err != nil:
		return fmt.Errorf("form: %w", err)
	case f.eof.Load():
		return ErrInputEnded
	}
	return nil
}

// done leaves the answer on the screen: huh clears a form when it is submitted, and the
// accessible prompts already show what was typed.
func (f *Form) done(title, answer string) {
	if !f.accessible {
		fmt.Fprintf(f.out, "✓ %s %s\n", title, config.Redact(answer)) // a URL's password stays off the screen
	}
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func options[T ~string](vals []T, label func(T) string) []huh.Option[T] {
	out := make([]huh.Option[T], len(vals))
	for i, v := range vals {
		out[i] = huh.NewOption(label(v), v)
	}
	return out
}

// AskMatrix asks the matrix questions that given does not answer already.
func (f *Form) AskMatrix(ctx context.Context, a *Answers, given Given) error {
	if !given.UseCase {
		if a.UseCase == "" {
			a.UseCase = UseDev
		}
		if err := f.run(ctx, huh.NewSelect[UseCase]().Title("What is this setup for?").
			Options(options(UseCases(), UseCase.Label)...).Value(&a.UseCase)); err != nil {
			return err
		}
		f.done("What is this setup for?", a.UseCase.Label())
	}
	if !given.Workflows {
		if a.Workflows == "" {
			a.Workflows = Workflows1to10
		}
		if err := f.run(ctx, huh.NewSelect[Workflows]().Title("How many workflows run at once?").
			Options(options(WorkflowBands(), func(w Workflows) string { return string(w) })...).Value(&a.Workflows)); err != nil {
			return err
		}
		f.done("How many workflows run at once?", string(a.Workflows))
	}
	if !given.Vectors {
		if err := f.run(ctx, huh.NewConfirm().Title("Do you need knowledge bases (vector search)?").
			Affirmative("Yes").Negative("No").Value(&a.Vectors)); err != nil {
			return err
		}
		f.done("Knowledge bases (vector search)?", yesNo(a.Vectors))
	}
	if !given.Server {
		if err := f.run(ctx, huh.NewConfirm().Title("Can you run or reach a PostgreSQL server?").
			Description("A server of your own, a managed one, or a container.").
			Affirmative("Yes").Negative("No").Value(&a.Server)); err != nil {
			return err
		}
		f.done("A PostgreSQL server?", yesNo(a.Server))
	}
	if a.Vectors && !given.Available {
		opts := AvailableOptions()
		if !a.Server {
			opts = opts[1:] // no PostgreSQL, so no pgvector
		}
		if a.Available == "" || (!a.Server && a.Available == AvailPgvector) {
			a.Available = AvailNone
		}
		if err := f.run(ctx, huh.NewSelect[Available]().Title("For vector search, what do you already have?").
			Options(options(opts, Available.Label)...).Value(&a.Available)); err != nil {
			return err
		}
		f.done("For vector search you have:", a.Available.Label())
	}
	return nil
}

// Recommendation is the text that shows a plan: the matrix row, the choice, the reasons and
// the warnings.
func Recommendation(p Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Matrix row: %s\n", p.Row)
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

// AskChoice shows the recommendation and lets the user accept it or choose the driver and the
// vector DB; the choice goes into a.Driver and a.Provider.
func (f *Form) AskChoice(ctx context.Context, a *Answers, given Given) error {
	p, err := Decide(*a)
	if err != nil {
		return err
	}
	if given.Driver && (given.Provider || !a.Vectors) {
		return nil
	}
	accept := true
	if err := f.run(ctx,
		huh.NewNote().Title("Recommendation").Description(Recommendation(p)),
		huh.NewConfirm().Title(fmt.Sprintf("Use %s with vector DB %s?", p.Driver, p.Provider)).
			Affirmative("Accept").Negative("Choose myself").Value(&accept)); err != nil {
		return err
	}
	if accept {
		f.done("Recommendation:", fmt.Sprintf("accepted (%s + %s)", p.Driver, p.Provider))
		return nil
	}
	if !given.Driver {
		a.Driver = p.Driver
		if err := f.run(ctx, huh.NewSelect[string]().Title("Database driver").
			Options(huh.NewOption("sqlite: one process; a file", DriverSQLite), huh.NewOption("postgres: a server; several processes", DriverPostgres)).
			Value(&a.Driver)); err != nil {
			return err
		}
		f.done("Database driver:", a.Driver)
	}
	if a.Vectors && !given.Provider {
		providers := []string{ProviderQdrant, ProviderRedis, ProviderFilesystem}
		desc := ""
		if a.Driver == DriverPostgres {
			providers = append([]string{ProviderPgvector}, providers...)
		} else {
			desc = "SQLite has no vector search, and pgvector is a PostgreSQL extension: with SQLite the vectors need an external vector DB."
		}
		p, err := Decide(*a)
		if err != nil {
			return err
		}
		a.Provider = p.Provider
		if err := f.run(ctx, huh.NewSelect[string]().Title("Vector DB").Description(desc).
			Options(huh.NewOptions(providers...)...).Value(&a.Provider)); err != nil {
			return err
		}
		f.done("Vector DB:", a.Provider)
	}
	return nil
}

// AskSettings asks the driver's and the vector DB's settings for plan p. password receives the
// PostgreSQL password typed for the connection test (it is never written).
func (f *Form) AskSettings(ctx context.Context, p Plan, s *Settings, given Given, password *string) error {
	switch p.Driver {
	case DriverSQLite:
		if !given.SQLitePath {
			if err := f.input(ctx, "SQLite database file",
				"Relative to compozy.yaml's folder; :memory: keeps the data only while the process runs. WAL, busy_timeout 5s and synchronous normal are preset.",
				&s.SQLitePath, nil); err != nil {
				return err
			}
		}
	case DriverPostgres:
		if err := f.askPostgres(ctx, s, given, password); err != nil {
			return err
		}
	}
	switch p.Provider {
	case ProviderQdrant, ProviderRedis:
		if !given.VectorURL {
			if s.VectorURL == "" {
				s.VectorURL = DefaultVectorURL(p.Provider)
			}
			prev := s.VectorURL
			if err := f.input(ctx, p.Provider+" URL", "A password or api_key in it is moved out of the file: the file reads it from ${"+VectorPasswordEnv+"} or ${"+VectorAPIKeyEnv+"}.",
				&s.VectorURL, checkVectorURL); err != nil {
				return err
			}
			clean, secrets, err := SplitVectorURL(s.VectorURL)
			if err != nil {
				return err
			}
			if clean != prev || len(secrets) > 0 {
				// Kept as it was (asked again after a failed test), the URL still reads the
				// secrets taken out of it the first time.
				s.VectorURL, s.VectorSecrets = clean, secrets
			}
		}
	case ProviderFilesystem:
		if !given.VectorPath {
			if err := f.input(ctx, "Vector store folder", "Relative to compozy.yaml's folder; created 0700.", &s.VectorPath, nil); err != nil {
				return err
			}
		}
	}
	if p.Provider != ProviderNone && !given.Dimension {
		dim := strconv.Itoa(s.Dimension)
		if err := f.input(ctx, "Embedding dimension", "The length of the embedding model's vectors (1536 for OpenAI text-embedding-3-small).",
			&dim, positiveInt); err != nil {
			return err
		}
		s.Dimension, _ = strconv.Atoi(strings.TrimSpace(dim))
	}
	return s.Validate(p)
}

func (f *Form) askPostgres(ctx context.Context, s *Settings, given Given, password *string) error {
	if !given.ConnString && !given.Host {
		how := "fields"
		if s.ConnString != "" {
			how = "url"
		}
		if err := f.run(ctx, huh.NewSelect[string]().Title("How do you connect to PostgreSQL?").
			Options(huh.NewOption("Host, port, user and database", "fields"), huh.NewOption("A connection string (postgres://...)", "url")).
			Value(&how)); err != nil {
			return err
		}
		if how == "url" {
			if err := f.input(ctx, "Connection string", "postgres://user@host:5432/compozy?sslmode=require; a password in it is moved out of the file.",
				&s.ConnString, nil); err != nil {
				return err
			}
			clean, pw, err := SplitPassword(s.ConnString)
			if err != nil {
				return err
			}
			s.ConnString = clean
			if pw != "" {
				// The password typed in the URL is the one the connection test uses; the
				// file reads ${COMPOZY_DB_PASSWORD}.
				*password, s.Password = pw, true
				return nil
			}
		}
	}
	if s.ConnString == "" {
		port := strconv.Itoa(s.Port)
		for _, q := range []struct {
			skip  bool
			title string
			v     *string
			check func(string) error
		}{
			{given.Host, "Host", &s.Host, nil},
			{given.Port, "Port", &port, positiveInt},
			{given.User, "User", &s.User, nil},
			{given.Name, "Database", &s.Name, nil},
		} {
			if q.skip {
				continue
			}
			if err := f.input(ctx, q.title, "", q.v, q.check); err != nil {
				return err
			}
		}
		s.Port, _ = strconv.Atoi(strings.TrimSpace(port))
		if !given.SSLMode {
			if err := f.run(ctx, huh.NewSelect[string]().Title("SSL mode").Description("require or verify-full for a server on another host").
				Options(huh.NewOptions("disable", "allow", "prefer", "require", "verify-ca", "verify-full")...).Value(&s.SSLMode)); err != nil {
				return err
			}
			f.done("SSL mode:", s.SSLMode)
		}
	}
	if given.PasswordFromEnv {
		s.Password = true
		return nil
	}
	if f.accessible {
		// huh cannot read a hidden password from a pipe or in accessible mode: say where it goes.
		return f.run(ctx, huh.NewNote().Title("Password").
			Description("Set "+PasswordEnv+" in the environment (or pipe it to --db-password-stdin) for the connection test; the file reads it from ${"+PasswordEnv+"}."))
	}
	if err := f.run(ctx, huh.NewInput().Title("Password (for the connection test; the file gets ${"+PasswordEnv+"})").
		Description("Leave empty when the server asks for none.").EchoMode(huh.EchoModePassword).Value(password)); err != nil {
		return err
	}
	s.Password = *password != ""
	return nil
}

// Choose asks one question with fixed answers and returns the index chosen.
func (f *Form) Choose(ctx context.Context, title, description string, choices ...string) (int, error) {
	idx := 0
	opts := make([]huh.Option[int], len(choices))
	for i, c := range choices {
		opts[i] = huh.NewOption(c, i)
	}
	err := f.run(ctx, huh.NewSelect[int]().Title(title).Description(description).Options(opts...).Value(&idx))
	return idx, err
}

// Confirm asks a yes/no question.
func (f *Form) Confirm(ctx context.Context, title string, def bool) (bool, error) {
	v := def
	err := f.run(ctx, huh.NewConfirm().Title(title).Affirmative("Yes").Negative("No").Value(&v))
	return v, err
}

// Validate checks the settings a plan needs, so that answers that ran out (accessible mode)
// or flags that are wrong are caught before anything is written.
func (s *Settings) Validate(p Plan) error {
	var missing []string
	if p.Driver == DriverSQLite && strings.TrimSpace(s.SQLitePath) == "" {
		missing = append(missing, "the SQLite path (--db-path)")
	}
	if p.Driver == DriverPostgres && s.ConnString == "" {
		if s.Host == "" {
			missing = append(missing, "the PostgreSQL host (--db-host)")
		}
		if s.Port <= 0 || s.Port > 65535 {
			missing = append(missing, "a PostgreSQL port between 1 and 65535 (--db-port)")
		}
		if s.User == "" {
			missing = append(missing, "the PostgreSQL user (--db-user)")
		}
		if s.Name == "" {
			missing = append(missing, "the PostgreSQL database (--db-name)")
		}
	}
	if p.Provider != ProviderNone && s.Dimension <= 0 {
		missing = append(missing, "a positive embedding dimension (--dimension)")
	}
	if p.Provider == ProviderFilesystem && strings.TrimSpace(s.VectorPath) == "" {
		missing = append(missing, "the vector store folder (--vector-path)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing or invalid: %s", strings.Join(missing, ", "))
	}
	return nil
}

// input asks for one text value. An empty answer keeps the current value (the default), which
// the title shows in accessible mode, where the field itself does not.
func (f *Form) input(ctx context.Context, title, description string, v *string, check func(string) error) error {
	def := *v
	if f.accessible && def != "" {
		title += " (Enter for " + def + ")"
	}
	validate := func(s string) error {
		if strings.TrimSpace(s) == "" {
			if def == "" {
				return errors.New("enter a value")
			}
			return nil
		}
		if check != nil {
			return check(s)
		}
		return nil
	}
	if err := f.run(ctx, huh.NewInput().Title(title).Description(description).Value(v).Validate(validate)); err != nil {
		return err
	}
	if strings.TrimSpace(*v) == "" {
		*v = def
	}
	*v = strings.TrimSpace(*v)
	f.done(title+":", *v)
	return nil
}

// checkVectorURL refuses a URL whose secrets cannot be taken out.
func checkVectorURL(s string) error {
	_, _, err := SplitVectorURL(strings.TrimSpace(s))
	return err
}

func positiveInt(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n <= 0 {
		return errors.New("enter a whole number above 0")
	}
	return nil
}
