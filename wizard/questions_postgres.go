package wizard

import (
	"strconv"

	"compozy.dev/setup/wizard/prompt"
)

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
