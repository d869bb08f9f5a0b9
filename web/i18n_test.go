package web

import (
	"encoding/json"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The client's languages (web/static/i18n.js) and their words.
var languages = []string{"en", "de", "fr", "es", "it", "nl"}

func readWords(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := fs.ReadFile(client, "static/lang/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var w map[string]string
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatalf("lang/%s.json: %v", lang, err)
	}
	return w
}

var placeholder = regexp.MustCompile(`\{\w+\}`)

func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

// TestLanguagesComplete: every language has every English key, no other,
// no empty text, and the same {placeholders}.
func TestLanguagesComplete(t *testing.T) {
	en := readWords(t, "en")
	if len(en) == 0 {
		t.Fatal("lang/en.json is empty")
	}
	for _, lang := range languages[1:] {
		w := readWords(t, lang)
		for k, text := range en {
			got, ok := w[k]
			switch {
			case !ok:
				t.Errorf("lang/%s.json lacks %q (en: %q)", lang, k, text)
			case strings.TrimSpace(got) == "":
				t.Errorf("lang/%s.json: %q is empty", lang, k)
			case !slices.Equal(placeholders(got), placeholders(text)):
				t.Errorf("lang/%s.json: %q has %v, en has %v", lang, k, placeholders(got), placeholders(text))
			}
		}
		for k := range w {
			if _, ok := en[k]; !ok {
				t.Errorf("lang/%s.json has %q, which English has not", lang, k)
			}
		}
	}
	b, err := fs.ReadFile(client, "static/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range languages {
		if !strings.Contains(string(b), "\n  "+lang+": '") {
			t.Errorf("i18n.js does not list %s in languages", lang)
		}
	}
}

// TestWordsUsed: every key the pages and scripts ask for is in English, and
// every English key is asked for somewhere (no words left behind).
func TestWordsUsed(t *testing.T) {
	en := readWords(t, "en")
	attr := regexp.MustCompile(`data-i18n(?:-[a-z-]+)?="([^"]*)"`)
	call := regexp.MustCompile(`\bt\(\s*'([^']*)'`)
	quoted := regexp.MustCompile(`'([a-z]+\.[a-z]+)'`)
	mentioned := map[string]bool{}
	err := fs.WalkDir(client, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := path.Ext(p)
		if ext != ".html" && ext != ".js" {
			return nil
		}
		b, err := fs.ReadFile(client, p)
		if err != nil {
			return err
		}
		for _, re := range []*regexp.Regexp{attr, call} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if _, ok := en[m[1]]; !ok {
					t.Errorf("%s asks for %q, which lang/en.json lacks", p, m[1])
				}
				mentioned[m[1]] = true
			}
		}
		for _, m := range quoted.FindAllStringSubmatch(string(b), -1) {
			mentioned[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range slices.Sorted(maps.Keys(en)) {
		if !mentioned[k] {
			t.Errorf("lang/en.json has %q, which nothing asks for", k)
		}
	}
}
