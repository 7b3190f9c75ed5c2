package docs

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// repoRoot is where the module's go.mod is, two directories up.
const repoRoot = "../.."

// inlineLink matches the target of an inline link or image,
// [text](target); a target ends at the first space (a title may follow)
// or closing parenthesis.
var inlineLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestRelativeLinksResolve checks every relative link in the repository's
// Markdown: the file must exist and, where the link names a section, the
// file must have a heading with that GitHub anchor.
func TestRelativeLinksResolve(t *testing.T) {
	files := markdownFiles(t)
	if len(files) < 5 {
		t.Fatalf("found only %d Markdown files under %s; is the test running from test/docs?", len(files), repoRoot)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		a, err := headingAnchors(path)
		if err != nil {
			t.Fatal(err)
		}
		anchors[path] = a
		return a
	}
	checked := 0
	for _, file := range files {
		links, err := relativeLinks(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			checked++
			target, anchor, _ := strings.Cut(l.target, "#")
			resolved := file
			if target != "" {
				resolved = filepath.Join(filepath.Dir(file), target)
				info, err := os.Stat(resolved)
				if err != nil {
					t.Errorf("%s:%d: link %q: %v", rel(file), l.line, l.target, err)
					continue
				}
				if info.IsDir() || filepath.Ext(resolved) != ".md" {
					if anchor != "" {
						t.Errorf("%s:%d: link %q names a section of something that is not Markdown", rel(file), l.line, l.target)
					}
					continue
				}
			}
			if anchor != "" && !anchorsOf(resolved)[anchor] {
				t.Errorf("%s:%d: link %q: %s has no heading with anchor %q", rel(file), l.line, l.target, rel(resolved), anchor)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found; the link pattern no longer matches the docs")
	}
}

func TestGitHubAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"Why KIScaler still misses on ramp":                      "why-kiscaler-still-misses-on-ramp",
		"Patterns: one policy for all traffic, or one for yours": "patterns-one-policy-for-all-traffic-or-one-for-yours",
		"Run on a real GPU (2026-11-27)":                         "run-on-a-real-gpu-2026-11-27",
		"Serving (`sim/server.go`, `sim/workload`)":              "serving-simservergo-simworkload",
		"Scale-down order: what the previous table got wrong":    "scale-down-order-what-the-previous-table-got-wrong",
	} {
		if got := gitHubAnchor(heading); got != want {
			t.Errorf("gitHubAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

type link struct {
	target string
	line   int
}

func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			// Build outputs and dot-directories are not documentation.
			if name := d.Name(); path != repoRoot && (strings.HasPrefix(name, ".") || name == "out" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if filepath.Ext(path) == ".md" {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// relativeLinks returns the links outside code that point into the
// repository (not to a URL).
func relativeLinks(path string) ([]link, error) {
	var links []link
	err := eachProseLine(path, func(n int, line string) {
		line = stripCodeSpans(line)
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links = append(links, link{target: target, line: n})
		}
	})
	return links, err
}

// headingAnchors returns the anchors GitHub gives the file's headings,
// with its -1, -2 suffixes for repeated ones.
func headingAnchors(path string) (map[string]bool, error) {
	anchors := map[string]bool{}
	seen := map[string]int{}
	err := eachProseLine(path, func(_ int, line string) {
		text, ok := strings.CutPrefix(line, "#")
		if !ok {
			return
		}
		text = strings.TrimLeft(text, "#")
		if !strings.HasPrefix(text, " ") {
			return
		}
		a := gitHubAnchor(strings.TrimSpace(text))
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	})
	return anchors, err
}

// gitHubAnchor is GitHub's heading slug: lower case, punctuation dropped
// (hyphens and underscores kept), spaces to hyphens.
func gitHubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// eachProseLine calls fn with every line outside fenced code blocks.
func eachProseLine(path string, fn func(n int, line string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	inFence := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			fn(n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", rel(path), err)
	}
	return nil
}

var codeSpan = regexp.MustCompile("`[^`]*`")

func stripCodeSpans(line string) string { return codeSpan.ReplaceAllString(line, "") }

func rel(path string) string {
	if r, err := filepath.Rel(repoRoot, path); err == nil {
		return r
	}
	return path
}
