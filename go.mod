module github.com/postern-mta/postern

go 1.26
