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

func format(d config.Diag) string {
	var b strings.Builder
	b.WriteString(d.File)
	if d.Line > 0 {
		fmt.Fprintf(&b, ":%d", d.Line)
	}
	b.WriteString(": ")
	if d.Severity == config.Warning {
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
