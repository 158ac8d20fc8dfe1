package config

// saslParams choose and reach the SMTP AUTH backend (internal/sasl).
var saslParams = []Param{}
