package passwd

import "strings"

// SetUser returns data with user's password field set to field: on the
// user's line (the other fields of it kept) or, for a new user, on a
// line "user:field" appended. Other lines, comments included, are kept
// as they are. added says the user was new.
func SetUser(data []byte, user, field string) (out []byte, added bool) {
	user = lower(user)
	lines := splitLines(data)
	found := false
	for i, l := range lines {
		if lineUser(l) != user {
			continue
		}
		cr := strings.HasSuffix(l, "\r")
		_, rest, _ := strings.Cut(strings.TrimSuffix(l, "\r"), ":")
		_, rest, hasRest := strings.Cut(rest, ":")
		l = user + ":" + field
		if hasRest {
			l += ":" + rest
		}
		if cr {
			l += "\r"
		}
		lines[i], found = l, true
	}
	if !found {
		lines = append(lines, user+":"+field)
	}
	return joinLines(lines), !found
}

// DeleteUser returns data without user's line; found says there was one.
func DeleteUser(data []byte, user string) (out []byte, found bool) {
	user = lower(user)
	var kept []string
	for _, l := range splitLines(data) {
		if lineUser(l) == user {
			found = true
			continue
		}
		kept = append(kept, l)
	}
	return joinLines(kept), found
}

// lineUser is the lowercased user of a line; "" for comments and blank
// lines.
func lineUser(l string) string {
	l = strings.TrimSuffix(l, "\r")
	if strings.TrimSpace(l) == "" || l[0] == '#' {
		return ""
	}
	u, _, _ := strings.Cut(l, ":")
	return lower(u)
}

func splitLines(data []byte) []string {
	s := string(data)
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func joinLines(lines []string) []byte {
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}
