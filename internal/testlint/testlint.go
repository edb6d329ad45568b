// Package testlint checks the test suite's own habits that no off-the-shelf
// analyser checks: a condition given to assert/require Eventually or Never
// must not fail the test itself (require.*, t.Fatal, t.FailNow, t.Skip, or
// handing the test's t to a helper). Eventually runs the condition on a
// goroutine of its own: a FailNow there stops only that goroutine, so the
// test hangs until the wait times out and reports a timeout instead of the
// error, and an Error on the test's t fails the test even when a later tick
// succeeds. EventuallyWithT with assertions on its collect T is the way to
// wait on a condition that can fail.
//
// The checks are syntactic (go/ast, one package's files at a time): they
// recognise testify's packages by import path, test handles by their
// declared types (*testing.T, testing.TB, *require.Assertions, ...) and
// helpers of the same package that fail their test by their bodies. It is
// imported only by its own test, which runs on the whole module in
// `go test ./...` (and `go test -short ./...`).
package testlint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	assertPath  = "github.com/stretchr/testify/assert"
	requirePath = "github.com/stretchr/testify/require"
)

// Finding is one place that breaks a rule.
type Finding struct {
	Pos     token.Position
	Message string
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s", f.Pos, f.Message) }

// waiters are testify's functions and methods that call their condition on
// another goroutine, repeatedly.
var waiters = map[string]bool{
	"Eventually": true, "Eventuallyf": true, "EventuallyWithT": true, "EventuallyWithTf": true,
	"Never": true, "Neverf": true,
}

// harmless are methods of a test handle that do not fail or stop the test.
var harmless = map[string]bool{
	"Log": true, "Logf": true, "Name": true, "Helper": true, "Context": true, "TempDir": true,
	"Output": true, "ArtifactDir": true, "Deadline": true, "Failed": true, "Skipped": true,
}

// fatalMethods stop the calling goroutine (or mark the test failed) when
// called on a test handle.
var fatalMethods = map[string]bool{
	"Fatal": true, "Fatalf": true, "FailNow": true, "Skip": true, "Skipf": true, "SkipNow": true,
	"Error": true, "Errorf": true, "Fail": true,
}

// CheckDir checks every Go package under root (skipping testdata, vendor,
// hidden directories and nested modules) and returns the findings sorted by
// position.
func CheckDir(root string) ([]Finding, error) {
	dirs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	var out []Finding
	for _, files := range dirs {
		fset := token.NewFileSet()
		byPkg := map[string][]*ast.File{}
		for _, path := range files {
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", path, err)
			}
			byPkg[f.Name.Name] = append(byPkg[f.Name.Name], f)
		}
		for _, pkg := range byPkg {
			out = append(out, CheckPackage(fset, pkg)...)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pos.Filename != out[j].Pos.Filename {
			return out[i].Pos.Filename < out[j].Pos.Filename
		}
		return out[i].Pos.Offset < out[j].Pos.Offset
	})
	return out, nil
}

// CheckSource checks one file given as source (for tests of the checker).
func CheckSource(name, src string) ([]Finding, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	return CheckPackage(fset, []*ast.File{f}), nil
}

// CheckPackage checks the files of one package.
func CheckPackage(fset *token.FileSet, files []*ast.File) []Finding {
	p := &pkg{fset: fset, funcs: map[string]*ast.FuncDecl{}, tFields: map[string]bool{}}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					p.funcs[d.Name.Name] = d
				}
			case *ast.GenDecl:
				p.collectTFields(f, d)
			}
		}
	}
	p.files = files
	p.failing = p.failingHelpers()
	var out []Finding
	for _, f := range files {
		imp := importsOf(f)
		if imp.assert == "" && imp.require == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !waiters[sel.Sel.Name] {
				return true
			}
			for _, arg := range call.Args {
				lit := p.condition(f, arg, call)
				if lit == nil {
					continue
				}
				out = append(out, p.checkCondition(f, imp, sel.Sel.Name, lit)...)
				break
			}
			return true
		})
	}
	return out
}

type imports struct{ assert, require, testing string }

func importsOf(f *ast.File) imports {
	var imp imports
	for _, s := range f.Imports {
		path, _ := strconv.Unquote(s.Path.Value)
		name := path[strings.LastIndex(path, "/")+1:]
		if s.Name != nil {
			name = s.Name.Name
		}
		switch path {
		case assertPath:
			imp.assert = name
		case requirePath:
			imp.require = name
		case "testing":
			imp.testing = name
		}
	}
	return imp
}

type pkg struct {
	fset  *token.FileSet
	files []*ast.File
	funcs map[string]*ast.FuncDecl
	// tFields are names of struct fields declared as test handles (a
	// helper struct keeping its test's t).
	tFields map[string]bool
	// failing are the package's functions ("name") and methods (".name") that fail
	// their test through something other than a parameter: require on a
	// kept t, t.Fatal on a struct's t, or calling another such helper.
	failing map[string]string
}

func (p *pkg) collectTFields(f *ast.File, d *ast.GenDecl) {
	imp := importsOf(f)
	for _, s := range d.Specs {
		ts, ok := s.(*ast.TypeSpec)
		if !ok {
			continue
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, fld := range st.Fields.List {
			if isTestHandleType(imp, fld.Type) {
				for _, n := range fld.Names {
					p.tFields[n.Name] = true
				}
			}
		}
	}
}

// isTestHandleType reports whether a type expression is a test handle:
// *testing.T/B/F, testing.TB, require.TestingT, *require.Assertions,
// assert.TestingT, *assert.Assertions.
func isTestHandleType(imp imports, e ast.Expr) bool {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	switch {
	case imp.testing != "" && x.Name == imp.testing:
		return sel.Sel.Name == "T" || sel.Sel.Name == "B" || sel.Sel.Name == "F" || sel.Sel.Name == "TB"
	case (imp.require != "" && x.Name == imp.require) || (imp.assert != "" && x.Name == imp.assert):
		return sel.Sel.Name == "TestingT" || sel.Sel.Name == "Assertions"
	}
	return false
}

// condition returns the function literal a waiter's argument is: the literal
// itself, or a local variable or package function it names.
func (p *pkg) condition(f *ast.File, arg ast.Expr, call *ast.CallExpr) *ast.FuncLit {
	switch a := arg.(type) {
	case *ast.FuncLit:
		return a
	case *ast.Ident:
		// The last assignment of a func literal to that name before the call
		// in the same file.
		var lit *ast.FuncLit
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil || n.Pos() >= call.Pos() {
				return n == nil || n.Pos() < call.Pos()
			}
			switch s := n.(type) {
			case *ast.AssignStmt:
				for i, l := range s.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == a.Name && i < len(s.Rhs) {
						if fl, ok := s.Rhs[i].(*ast.FuncLit); ok {
							lit = fl
						}
					}
				}
			case *ast.ValueSpec:
				for i, id := range s.Names {
					if id.Name == a.Name && i < len(s.Values) {
						if fl, ok := s.Values[i].(*ast.FuncLit); ok {
							lit = fl
						}
					}
				}
			}
			return true
		})
		if lit != nil {
			return lit
		}
		if fd, ok := p.funcs[a.Name]; ok && fd.Body != nil {
			return &ast.FuncLit{Type: fd.Type, Body: fd.Body}
		}
	}
	return nil
}

// handles collects the names a function literal's own parameters declare:
// inside the condition, these are the condition's (the collect T).
func paramNames(ft *ast.FuncType) map[string]bool {
	names := map[string]bool{}
	if ft.Params == nil {
		return names
	}
	for _, fld := range ft.Params.List {
		for _, n := range fld.Names {
			names[n.Name] = true
		}
	}
	return names
}

// outerHandles are the names in scope at a function's position that denote
// test handles: parameters of the enclosing functions with a test handle
// type, and variables assigned from require.New/assert.New. Shadowing inside
// the condition by its own parameters is handled by the caller.
func outerHandles(f *ast.File, imp imports, at token.Pos) map[string]bool {
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		if n.Pos() > at || n.End() < at {
			return false // only nodes enclosing the condition
		}
		var ft *ast.FuncType
		var body *ast.BlockStmt
		switch fn := n.(type) {
		case *ast.FuncDecl:
			ft, body = fn.Type, fn.Body
			if fn.Recv != nil {
				addHandleFields(names, imp, fn.Recv)
			}
		case *ast.FuncLit:
			ft, body = fn.Type, fn.Body
		default:
			return true
		}
		if ft.Params != nil {
			addHandleFields(names, imp, ft.Params)
		}
		if body != nil {
			for _, st := range body.List {
				if st.Pos() > at {
					break
				}
				as, ok := st.(*ast.AssignStmt)
				if !ok {
					continue
				}
				for i, l := range as.Lhs {
					id, ok := l.(*ast.Ident)
					if !ok || i >= len(as.Rhs) {
						continue
					}
					if c, ok := as.Rhs[i].(*ast.CallExpr); ok && isPkgCall(imp, c, "New") {
						names[id.Name] = true
					}
				}
			}
		}
		return true
	})
	return names
}

func addHandleFields(names map[string]bool, imp imports, fl *ast.FieldList) {
	for _, fld := range fl.List {
		if isTestHandleType(imp, fld.Type) {
			for _, n := range fld.Names {
				names[n.Name] = true
			}
		}
	}
}

// isPkgCall reports whether c calls assert.<name> or require.<name>.
func isPkgCall(imp imports, c *ast.CallExpr, name string) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && ((imp.require != "" && x.Name == imp.require) || (imp.assert != "" && x.Name == imp.assert))
}

// isHandle reports whether e denotes a test handle of the enclosing test (a
// name in outer not shadowed by the condition's own parameters, or a struct
// field declared as one, like r.t).
func (p *pkg) isHandle(e ast.Expr, outer, own map[string]bool) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return outer[x.Name] && !own[x.Name]
	case *ast.SelectorExpr:
		if !p.tFields[x.Sel.Name] {
			return false
		}
		// r.t, where r is not the condition's own parameter.
		if id, ok := x.X.(*ast.Ident); ok && own[id.Name] {
			return false
		}
		return true
	case *ast.CallExpr:
		// s.T() of a testify suite.
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "T" && len(x.Args) == 0 {
			if id, ok := sel.X.(*ast.Ident); ok && own[id.Name] {
				return false
			}
			return true
		}
	}
	return false
}

func (p *pkg) checkCondition(f *ast.File, imp imports, waiter string, lit *ast.FuncLit) []Finding {
	own := paramNames(lit.Type)
	outer := outerHandles(f, imp, lit.Pos())
	var out []Finding
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, Finding{Pos: p.fset.Position(n.Pos()), Message: fmt.Sprintf(format, args...) +
			" inside a " + waiter + " condition: wait with EventuallyWithT and assert on its collect T"})
	}
	ast.Inspect(lit.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		// Nested waiters are checked on their own.
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && waiters[sel.Sel.Name] {
			return false
		}
		switch fn := call.Fun.(type) {
		case *ast.SelectorExpr:
			if x, ok := fn.X.(*ast.Ident); ok && imp.require != "" && x.Name == imp.require && !own[x.Name] {
				report(call, "%s.%s", x.Name, fn.Sel.Name)
				return true
			}
			if p.isHandle(fn.X, outer, own) {
				if !harmless[fn.Sel.Name] {
					report(call, "%s on the test's handle", fn.Sel.Name)
				}
				return true
			}
			if why, ok := p.failing["."+fn.Sel.Name]; ok && !passesOwn(call, own) {
				report(call, "method %s (which %s)", fn.Sel.Name, why)
				return true
			}
		case *ast.Ident:
			if why, ok := p.failing[fn.Name]; ok && !passesOwn(call, own) && !own[fn.Name] {
				report(call, "%s (which %s)", fn.Name, why)
				return true
			}
		}
		for _, a := range call.Args {
			if p.isHandle(a, outer, own) {
				report(call, "passing the test's handle to %s", exprString(call.Fun))
				break
			}
		}
		return true
	})
	return out
}

// passesOwn reports whether a call hands the condition's own parameter (its
// collect T) to the callee, which then fails into it.
func passesOwn(call *ast.CallExpr, own map[string]bool) bool {
	for _, a := range call.Args {
		if id, ok := a.(*ast.Ident); ok && own[id.Name] {
			return true
		}
	}
	return false
}

// failingHelpers finds the package's functions and methods that fail their
// test other than through their parameters: they call require.* on, or
// Fatal/FailNow/Skip on, a test handle they keep (a struct field) or one
// they were given — any require inside a helper counts unless the helper is
// handed the condition's collect T, which the caller checks — or call
// another such helper.
func (p *pkg) failingHelpers() map[string]string {
	failing := map[string]string{}
	type decl struct {
		name string // "f" for a function, ".m" for a method
		fd   *ast.FuncDecl
		f    *ast.File
	}
	var decls []decl
	for _, f := range p.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				name := fd.Name.Name
				if fd.Recv != nil {
					name = "." + name
				}
				decls = append(decls, decl{name, fd, f})
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, d := range decls {
			if _, done := failing[d.name]; done {
				continue
			}
			imp := importsOf(d.f)
			params := map[string]bool{}
			if d.fd.Type.Params != nil {
				addHandleFields(params, imp, d.fd.Type.Params)
			}
			var why string
			ast.Inspect(d.fd.Body, func(n ast.Node) bool {
				if why != "" {
					return false
				}
				if lit, ok := n.(*ast.FuncLit); ok && lit != nil {
					return false // closures run elsewhere (t.Cleanup, goroutines)
				}
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok && imp.require != "" && x.Name == imp.require {
						why = "calls " + x.Name + "." + fn.Sel.Name
					} else if fatalMethods[fn.Sel.Name] && (p.isHandle(fn.X, params, nil)) {
						why = "calls " + fn.Sel.Name
					} else if _, ok := failing["."+fn.Sel.Name]; ok {
						why = "calls " + fn.Sel.Name
					}
				case *ast.Ident:
					if _, ok := failing[fn.Name]; ok {
						why = "calls " + fn.Name
					}
				}
				return true
			})
			if why != "" {
				failing[d.name] = why
				changed = true
			}
		}
	}
	return failing
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.CallExpr:
		return exprString(x.Fun) + "()"
	case *ast.IndexExpr:
		return exprString(x.X) + "[...]"
	}
	return "a function"
}
