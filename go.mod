module github.com/postern-mta/postern

go 1.26.0

require (
	golang.org/x/crypto v0.59.0
	golang.org/x/sys v0.50.0
)

require github.com/emersion/go-msgauth v0.7.0

require golang.org/x/net v0.63.0

require golang.org/x/text v0.44.0 // indirect
