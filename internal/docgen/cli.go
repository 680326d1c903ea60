package docgen

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"compozy.dev/setup/cli"
	"compozy.dev/setup/tui/term"
)

// RootCmd builds the real command tree over buffers, for generation and for the tests that
// parse the command lines of the docs.
func RootCmd() *cobra.Command {
	ios, _, _, _ := term.Test()
	return cli.NewRootCmd(&cli.Factory{IO: ios})
}

// cliBlocks returns "cli compozy X" for every top-level command (the command and its
// subcommands), and "cli-global-flags".
func cliBlocks() (map[string]string, error) {
	root := RootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	out := map[string]string{"cli-global-flags": flagTable(root.PersistentFlags())}
	var list strings.Builder
	list.WriteString("| Command | What it does |\n| --- | --- |\n")
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		fmt.Fprintf(&list, "| [%s](%s.md) | %s |\n", code(c.CommandPath()), c.Name(), cell(c.Short))
		var b strings.Builder
		writeCommand(&b, c, 1)
		out["cli "+c.CommandPath()] = b.String()
	}
	out["cli-commands"] = list.String()
	return out, nil
}

// writeCommand documents c and, below it, its subcommands. At level 1 (the page's own command,
// whose title the page already has) the part is headed "Usage"; each subcommand gets a heading
// one level down.
func writeCommand(b *strings.Builder, c *cobra.Command, level int) {
	if level == 1 {
		b.WriteString("## Usage\n\n")
	} else {
		fmt.Fprintf(b, "%s %s\n\n", strings.Repeat("#", level), code(c.CommandPath()))
	}
	text := c.Long
	if text == "" {
		text = c.Short
	}
	fmt.Fprintf(b, "%s\n\n", mdText(text))
	fmt.Fprintf(b, "```text\n%s\n```\n\n", c.UseLine())
	if c.Example != "" {
		fmt.Fprintf(b, "Examples:\n\n```sh\n%s\n```\n\n", trimExample(c.Example))
	}
	if c.HasAvailableLocalFlags() {
		fmt.Fprintf(b, "Flags:\n\n%s\n", flagTable(c.LocalNonPersistentFlags()))
	}
	if c.HasParent() {
		b.WriteString("The [global flags](index.md#global-flags) apply too.\n\n")
	}
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			writeCommand(b, s, level+1)
		}
	}
}

// trimExample removes the two-space indent cobra's help puts before examples.
func trimExample(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "  ")
	}
	return strings.Join(lines, "\n")
}

// mdText turns a command's help text into Markdown paragraphs: lines are joined unless they
// are indented (a list, kept as a code block).
func mdText(s string) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if strings.HasPrefix(para, "  ") {
			out = append(out, "```text\n"+para+"\n```")
			continue
		}
		out = append(out, md(strings.Join(strings.Fields(para), " ")))
	}
	return strings.Join(out, "\n\n")
}

// flagTable lists flags: name (and shorthand), value, default, description.
func flagTable(fs *pflag.FlagSet) string {
	var b strings.Builder
	b.WriteString("| Flag | Value | Default | Description |\n| --- | --- | --- | --- |\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		varname, usage := pflag.UnquoteUsage(f)
		def := f.DefValue
		switch {
		case f.Value.Type() == "bool" && def == "false", def == "", def == "[]", def == "0":
			def = "-"
		default:
			def = code(def)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code(name), orDash(varname), def, cell(md(usage)))
	})
	return b.String()
}
