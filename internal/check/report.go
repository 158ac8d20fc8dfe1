package check

import (
	"fmt"
	"io"
	"strings"

	"github.com/postern-mta/postern/internal/config"
)

// Write prints the report: one line per problem, errors as
// `FILE:LINE: parameter NAME: message` and warnings with "warning: " after
// the location, then (verbose) the resolution notes and a summary.
func (r *Report) Write(w io.Writer, verbose bool) {
	for _, d := range r.Diags {
		fmt.Fprintln(w, format(d))
	}
	if verbose {
		for _, i := range r.Info {
			fmt.Fprintln(w, "info: "+i)
		}
	}
	errs := r.Errors()
	fmt.Fprintf(w, "postern check: %s, %s\n", plural(errs, "error"), plural(len(r.Diags)-errs, "warning"))
}

// WriteProblems prints the problems as `postfix check` does on its
// standard error: "PROG: warning: FILE:LINE: parameter NAME: ..." or
// "PROG: fatal: ..." per line, no summary; verbose adds the resolution
// notes as "PROG: info: ...".
func (r *Report) WriteProblems(w io.Writer, prog string, verbose bool) {
	for _, d := range r.Diags {
		severity := "fatal"
		if d.Severity == config.Warning {
			severity = "warning"
		}
		fmt.Fprintf(w, "%s: %s: %s\n", prog, severity, formatAt(d, false))
	}
	if verbose {
		for _, i := range r.Info {
			fmt.Fprintf(w, "%s: info: %s\n", prog, i)
		}
	}
}

func format(d config.Diag) string { return formatAt(d, true) }

// formatAt formats d as FILE:LINE: [warning: ]parameter NAME: message.
func formatAt(d config.Diag, severity bool) string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
	}
	b.WriteString(": ")
	if severity && d.Severity == config.Warning {
		b.WriteString("warning: ")
	}
	if d.Param != "" {
		fmt.Fprintf(&b, "parameter %s: ", d.Param)
	}
	b.WriteString(d.Msg)
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
