package config

import (
	_ "embed"
	"strings"
)

// postfix-parameters.txt lists the names of Postfix 3.7's parameters
// (`postconf -d`), so that a main.cf written for Postfix is understood:
// such names are not "unused", even where postern does not implement them.
//
//go:embed postfix-parameters.txt
var postfixParameterList string

var postfixParameters = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Fields(postfixParameterList) {
		m[n] = true
	}
	return m
}()

// KnownToPostfix reports whether name is a Postfix built-in parameter.
func KnownToPostfix(name string) bool { return postfixParameters[name] }

// PostfixNames returns the Postfix built-in parameter names.
func PostfixNames() []string { return strings.Fields(postfixParameterList) }
