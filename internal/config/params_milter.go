package config

// milterParams are the milter client (internal/milter): Postfix's
// smtpd_milters, non_smtpd_milters and milter_* parameters.
var milterParams = []Param{}
