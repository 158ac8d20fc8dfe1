package mastercf

// Entries returns the services that `postconf -M [pattern ...]` shows, in
// its order, with its `unmatched request` warnings and its usage error
// (see WriteEntries); for output in another form (postern conf -Mj).
func (f *File) Entries(patterns ...string) (list []*Service, warnings []string, err error) {
	reqs, err := parseRequests(patterns, 2, "-M option requires service_name[/type]")
	if err != nil {
		return nil, nil, err
	}
	f.each(reqs, func(s *Service, r *request) {
		if r != nil {
			r.hits++
		}
		list = append(list, s)
	})
	return list, unmatched(reqs), nil
}
