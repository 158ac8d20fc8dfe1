package policy

// codes are the reply-code parameters, with Postfix's defaults.
type codes struct {
	reject, deferCode, relay, accessReject, accessDefer int
	nonFQDN, invalidHost, unknownAddr, unknownClient    int
	unknownLocal, rbl                                   int
}

func defaultCodes() codes {
	return codes{reject: 554, deferCode: 450, relay: 554, accessReject: 554, accessDefer: 450,
		nonFQDN: 504, invalidHost: 501, unknownAddr: 450, unknownClient: 450, unknownLocal: 550, rbl: 554}
}
