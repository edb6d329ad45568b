package test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// repoRoot is the module root, seen from this package.
const repoRoot = ".."

// githubSlug is the anchor GitHub gives a heading: lower case, markup and
// punctuation dropped (letters, digits, '_' and '-' kept), spaces as '-'.
func githubSlug(heading string) string {
	heading = mdLink.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '_', r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

var (
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)(?:\s+"[^"]*")?\)`)
	mdRefLink  = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s+(\S+)`)
	mdHeading  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	inlineCode = regexp.MustCompile("`[^`]*`")
)

// markdownDoc is a Markdown file's anchors and the links it contains (code
// blocks and inline code left out).
type markdownDoc struct {
	anchors map[string]bool
	links   []mdLinkAt
}

type mdLinkAt struct {
	line   int
	target string
}

func parseMarkdown(t *testing.T, path string) markdownDoc {
	t.Helper()
	raw, err := os.ReadFile(path) // #nosec G304 -- the repository's own documents
	require.NoError(t, err)
	doc := markdownDoc{anchors: map[string]bool{}}
	seen := map[string]int{}
	fence := ""
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			doc.anchors[m[1]] = true
		}
		if m := mdHeading.FindStringSubmatch(line); m != nil {
			slug := githubSlug(m[1])
			if n := seen[slug]; n > 0 {
				doc.anchors[fmt.Sprintf("%s-%d", slug, n)] = true
			} else {
				doc.anchors[slug] = true
			}
			seen[slug]++
		}
		code := inlineCode.ReplaceAllString(line, "")
		for _, m := range mdLink.FindAllStringSubmatch(code, -1) {
			doc.links = append(doc.links, mdLinkAt{i + 1, m[2]})
		}
		for _, m := range mdRefLink.FindAllStringSubmatch(code, -1) {
			doc.links = append(doc.links, mdLinkAt{i + 1, m[1]})
		}
	}
	return doc
}

// docFiles are README.md and every Markdown file under docs/ and deploy/.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	for _, dir := range []string{"docs", "deploy"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(p, ".md") {
				files = append(files, p)
			}
			return err
		}))
	}
	return files
}

// linkResolver checks relative links against the repository's files and the
// anchors of its Markdown files.
type linkResolver struct {
	t    *testing.T
	docs map[string]markdownDoc // by cleaned path
}

func (r *linkResolver) doc(path string) markdownDoc {
	if d, ok := r.docs[path]; ok {
		return d
	}
	d := parseMarkdown(r.t, path)
	r.docs[path] = d
	return d
}

// check returns why target, linked from the file from, does not resolve ("" when it does).
func (r *linkResolver) check(from, target string) string {
	if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return ""
	}
	path, anchor, _ := strings.Cut(target, "#")
	dest := from
	if path != "" {
		if strings.HasPrefix(path, "/") {
			dest = filepath.Join(repoRoot, path)
		} else {
			dest = filepath.Join(filepath.Dir(from), path)
		}
		if _, err := os.Stat(dest); err != nil {
			return "no such file " + dest
		}
	}
	if anchor == "" || !strings.HasSuffix(dest, ".md") {
		return ""
	}
	if !r.doc(filepath.Clean(dest)).anchors[strings.ToLower(anchor)] {
		return "no heading for #" + anchor + " in " + dest
	}
	return ""
}

// TestDocsLinksResolve: every relative link of README.md, docs/**/*.md and
// deploy/**/*.md names a file of the repository, and every #anchor a heading
// (or <a id>) of the document it points to. The runbook links of the alert
// rules are checked the same way.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	r := &linkResolver{t: t, docs: map[string]markdownDoc{}}
	files := docFiles(t)
	require.Greater(t, len(files), 10)
	links := 0
	for _, f := range files {
		for _, l := range r.doc(filepath.Clean(f)).links {
			links++
			if why := r.check(filepath.Clean(f), l.target); why != "" {
				t.Errorf("%s:%d: link %q: %s", f, l.line, l.target, why)
			}
		}
	}
	require.Greater(t, links, 50, "the link scanner finds the documents' links")

	rules, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "prometheus", "rules", "*.yml"))
	require.NoError(t, err)
	runbooks := 0
	for _, p := range rules {
		raw, err := os.ReadFile(p) // #nosec G304 -- the repository's rule files
		require.NoError(t, err)
		var f struct {
			Groups []struct {
				Rules []struct {
					Alert       string            `yaml:"alert"`
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		require.NoError(t, yaml.Unmarshal(raw, &f), p)
		for _, g := range f.Groups {
			for _, rule := range g.Rules {
				u, ok := rule.Annotations["runbook_url"]
				if rule.Alert == "" {
					continue
				}
				require.True(t, ok, "%s: alert %s has no runbook_url", p, rule.Alert)
				rel, ok := strings.CutPrefix(u, runbookBlobPrefix)
				require.True(t, ok, "%s: alert %s: runbook_url %q is not in this repository (%s…)", p, rule.Alert, u, runbookBlobPrefix)
				runbooks++
				if why := r.check(filepath.Join(repoRoot, "README.md"), rel); why != "" {
					t.Errorf("%s: alert %s: runbook_url %q: %s", p, rule.Alert, u, why)
				}
			}
		}
	}
	require.Positive(t, runbooks)
}

// runbookBlobPrefix is how the alert rules link into this repository.
const runbookBlobPrefix = "https://github.com/mutt-ops/mutt/blob/main/"

// TestGithubSlug pins the heading → anchor rule the link check relies on.
func TestGithubSlug(t *testing.T) {
	t.Parallel()
	for heading, want := range map[string]string{
		"MUTTScheduleLate":                  "muttschedulelate",
		"Runbook: MUTT's Prometheus alerts": "runbook-mutts-prometheus-alerts",
		"Listeners and TLS":                 "listeners-and-tls",
		"`mutt dev` and `make run`":         "mutt-dev-and-make-run",
		"Step 3 — switch over":              "step-3--switch-over",
		"[Link](x.md) text":                 "link-text",
	} {
		require.Equal(t, want, githubSlug(heading), heading)
	}
}
