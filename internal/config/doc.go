// Package config reads Postfix-style configuration: the main.cf parameter
// file, the registry of parameters postern implements (type, Postfix default,
// validation), the state of every postern and Postfix parameter
// (states.go: implemented, no effect on purpose, refused, not implemented
// yet) and the lazy $name expansion that Postfix applies to values.
//
// The reader follows Postfix's rules exactly (see ../shared/postfix-spec.md
// §1): comment and blank lines never end a logical line, a line that starts
// with whitespace continues the previous one, `#` is a comment only as the
// first non-blank character, the last assignment of a name wins.
//
// Unlike Postfix, reading never stops at the first bad line: every problem is
// collected as a Diag naming file, line and parameter, so that `postern check`
// can report them all. Callers that want Postfix's fail-fast behaviour
// (`postern conf`) stop at the first error Diag themselves.
package config
