package config

// mailauthParams are the checks on received mail (internal/mailauth:
// SPF, DKIM verification, DMARC, Authentication-Results).
var mailauthParams = []Param{}
