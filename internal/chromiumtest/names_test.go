package chromiumtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// browserTest is how every test that starts a browser is named, so that
// `go test -run` and `-skip` with BrowserTests select them (docs/TESTING.md).
var browserTest = regexp.MustCompile(BrowserTests)

// TestBrowserTestNames reads every test file of the module: a Test function
// that starts Chromium or Firefox (chromiumtest.Start, firefoxtest.Start,
// or a function of its package that does) must be named TestChromium... or
// TestFirefox..., and a test so named must start one.
func TestBrowserTestNames(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Test files by directory (one package and its _test package share
	// their helpers through the directory).
	files := map[string][]*ast.File{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files[filepath.Dir(path)] = append(files[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := 0
	for dir, fs := range files {
		// Inside the browser packages themselves, Start is the browser's.
		own := filepath.Base(dir) == "chromiumtest" || filepath.Base(dir) == "firefoxtest"
		starts := starters(fs, own)
		var bad []string
		for _, f := range fs {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" {
					continue
				}
				tests++
				name := fn.Name.Name
				switch starts[name] {
				case browserTest.MatchString(name):
				case true:
					bad = append(bad, name+" starts a browser: name it TestChromium... or TestFirefox...")
				default:
					bad = append(bad, name+" starts no browser: only browser tests are named TestChromium... or TestFirefox...")
				}
			}
		}
		sort.Strings(bad)
		for _, b := range bad {
			rel, _ := filepath.Rel(root, dir)
			t.Errorf("%s: %s", rel, b)
		}
	}
	if tests < 50 {
		t.Fatalf("read only %d tests under %s: the walk is broken", tests, root)
	}
}

// starters returns the functions of files (by name; methods too) that
// start a browser, directly or through another of them; own says files are
// the browser package's, where Start itself starts one.
func starters(files []*ast.File, own bool) map[string]bool {
	calls := map[string][]string{} // function -> names it calls (pkg.Start as "pkg.Start")
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				c, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch e := c.Fun.(type) {
				case *ast.Ident:
					calls[fn.Name.Name] = append(calls[fn.Name.Name], e.Name)
				case *ast.SelectorExpr:
					if x, ok := e.X.(*ast.Ident); ok {
						calls[fn.Name.Name] = append(calls[fn.Name.Name], x.Name+"."+e.Sel.Name)
					}
					calls[fn.Name.Name] = append(calls[fn.Name.Name], e.Sel.Name) // a method of this package
				}
				return true
			})
		}
	}
	starts := map[string]bool{"chromiumtest.Start": true, "firefoxtest.Start": true, "Start": own}
	for changed := true; changed; {
		changed = false
		for fn, callees := range calls {
			if starts[fn] {
				continue
			}
			for _, c := range callees {
				if starts[c] {
					starts[fn], changed = true, true
					break
				}
			}
		}
	}
	return starts
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
