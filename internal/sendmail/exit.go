package sendmail

// Exit codes (sysexits.h), as Postfix's sendmail means them.
const (
	ExUsage       = 64 // bad command line, no recipients
	ExDataErr     = 65 // bad input: NUL bytes, too big, empty, unparsable header
	ExUnavailable = 69 // the mail system is not set up
	ExSoftware    = 70 // internal error
	ExOSErr       = 71 // no login name for the uid
	ExTempFail    = 75 // try again later: disk full, write error, broken configuration
	ExNoPerm      = 77 // not allowed to submit mail
)

// Error is a failure with the exit code sendmail ends with. Msg is
// printed after "sendmail: fatal: ".
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
