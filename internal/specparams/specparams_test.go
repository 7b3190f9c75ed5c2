package specparams

import (
	"errors"
	"maps"
	"testing"
)

func TestRepeated(t *testing.T) {
	for _, tc := range []struct {
		s    []string
		want string
		ok   bool
	}{
		{nil, "", false},
		{[]string{"a", "b", "c"}, "", false},
		{[]string{"a", "b", "a", "b"}, "a", true},
		{[]string{"a", "b", "c", "b", "a"}, "b", true},
	} {
		if got, ok := Repeated(tc.s); got != tc.want || ok != tc.ok {
			t.Errorf("Repeated(%q) = %q, %v; want %q, %v", tc.s, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		args string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"a=1,b=", map[string]string{"a": "1", "b": ""}, ""},
		{"a=1,c=2", nil, `unknown parameter "c" (known: a, b)`},
		{"a=1,a=2", nil, `parameter "a" is given twice`},
		{"a=1,", nil, `"" is not key=value`},
		{"a", nil, `"a" is not key=value`},
	} {
		got, err := Split(tc.args, "a", "b")
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("Split(%q) error = %v, want %q", tc.args, err, tc.err)
		case tc.err == "" && (err != nil || !maps.Equal(got, tc.want)):
			t.Errorf("Split(%q) = %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
	var malformed *NotKeyValueError
	if _, err := Split("a=1,b", "a", "b"); !errors.As(err, &malformed) || malformed.Pair != "b" {
		t.Errorf("a pair without '=' gives %v, want a *NotKeyValueError for %q", err, "b")
	}
}
