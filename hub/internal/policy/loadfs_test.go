package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// bytesOf turns name → content strings into LoadFiles' input.
func bytesOf(files map[string]string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for name, content := range files {
		out[name] = []byte(content)
	}
	return out
}

func TestLoadFiles(t *testing.T) {
	groups := "groups:\n  job-boards: [jobfinder, jobbland]\n"
	tests := []struct {
		name       string
		files      map[string]string
		wantIDs    []string            // on success, in load order
		wantGroups map[string][]string // on success
		wantErr    []error             // each must match
		want       []string            // substrings of the error
		notWant    []string            // must not appear in the error
	}{
		{name: "good set",
			files:      map[string]string{"b.json": "[" + pol("b1") + ", " + pol("b2") + "]", "a.json": pol("a1")},
			wantIDs:    []string{"a1", "b1", "b2"},
			wantGroups: map[string][]string{}},
		{name: "empty set",
			files:      map[string]string{},
			wantIDs:    []string{},
			wantGroups: map[string][]string{}},
		{name: "groups.yaml included",
			files:      map[string]string{"a.json": pol("boards", `subjects=["group:job-boards"]`), GroupsFile: groups},
			wantIDs:    []string{"boards"},
			wantGroups: map[string][]string{"job-boards": {"jobbland", "jobfinder"}}},
		{name: "only groups.yaml",
			files:      map[string]string{GroupsFile: groups},
			wantIDs:    []string{},
			wantGroups: map[string][]string{"job-boards": {"jobbland", "jobfinder"}}},
		{name: "bad name: slash",
			files:   map[string]string{"sub/a.json": pol("a1")},
			wantErr: []error{ErrInvalidFileName, ErrInvalidPolicy},
			want:    []string{`"sub/a.json"`, "path separator"}},
		{name: "bad name: backslash",
			files:   map[string]string{`sub\a.json`: pol("a1")},
			wantErr: []error{ErrInvalidFileName},
			want:    []string{`sub\\a.json`, "path separator"}},
		{name: "bad name: parent",
			files:   map[string]string{"../a.json": pol("a1")},
			wantErr: []error{ErrInvalidFileName},
			want:    []string{"../a.json", "path separator"}},
		{name: "bad name: not json",
			files:   map[string]string{"a.json": pol("a1"), "README.md": "hello"},
			wantErr: []error{ErrInvalidFileName},
			want:    []string{`"README.md"`, "*.json", GroupsFile}},
		{name: "bad name: groups.yml",
			files:   map[string]string{"groups.yml": groups},
			wantErr: []error{ErrInvalidFileName},
			want:    []string{`"groups.yml"`}},
		{name: "bad name: empty",
			files:   map[string]string{"": pol("a1")},
			wantErr: []error{ErrInvalidFileName},
			want:    []string{"empty file name"}},
		{name: "every bad name reported",
			files:   map[string]string{"x/a.json": pol("a1"), "b.txt": pol("b1"), "ok.json": pol("ok")},
			wantErr: []error{ErrInvalidFileName},
			want:    []string{"x/a.json", "b.txt"},
			notWant: []string{"ok.json"}},
		{name: "bad file names file and policy",
			files:   map[string]string{"good.json": pol("fine"), "bad.json": "[" + pol("ok") + ", " + pol("bad-effect", `effect="maybe"`) + "]"},
			wantErr: []error{ErrInvalidEffect, ErrInvalidPolicy},
			want:    []string{`bad.json: policy "bad-effect": effect`}},
		{name: "bad file with several mistakes",
			files:   map[string]string{"bad.json": "[" + pol("p1", `actions=["delete"]`) + ", " + pol("p2", `subjects=["user:bob"]`) + "]"},
			wantErr: []error{ErrUnknownAction, ErrInvalidSubject},
			want:    []string{`bad.json: policy "p1": actions[0]`, `bad.json: policy "p2": subjects[0]`}},
		{name: "duplicate id across files",
			files:   map[string]string{"a.json": pol("dup"), "b.json": pol("dup")},
			wantErr: []error{ErrDuplicateID},
			want:    []string{`b.json: policy "dup": id`, "first defined in a.json"}},
		{name: "unknown group names groups.yaml",
			files:   map[string]string{"a.json": pol("p", `subjects=["group:boards"]`), GroupsFile: groups},
			wantErr: []error{ErrUnknownGroup},
			want:    []string{`a.json: policy "p": subjects`, `"boards"`, GroupsFile + " declares no such group"}},
		{name: "bad groups.yaml",
			files:   map[string]string{"a.json": pol("ok"), GroupsFile: "groups:\n  job-boards: [Jobbland]\n"},
			wantErr: []error{ErrInvalidGroups, ErrInvalidPolicy},
			want:    []string{GroupsFile + `: group "job-boards"`, "Jobbland"}},
		{name: "empty policy file",
			files:   map[string]string{"a.json": " \n"},
			wantErr: []error{ErrSyntax},
			want:    []string{"a.json: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := LoadFiles(bytesOf(tt.files))
			if tt.wantErr != nil {
				if err == nil || set != nil {
					t.Fatalf("LoadFiles = %v, %v; want nil and an error", set, err)
				}
				for _, w := range tt.wantErr {
					if !errors.Is(err, w) {
						t.Errorf("error %q does not match %v", err, w)
					}
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(err.Error(), w) {
						t.Errorf("error %q mentions %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadFiles: %v", err)
			}
			if got := set.PolicyIDs(); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
			if got := set.Groups(); !maps.EqualFunc(got, tt.wantGroups, slices.Equal) {
				t.Errorf("groups = %v, want %v", got, tt.wantGroups)
			}
			if got, want := set.Files(), bytesOf(tt.files); !maps.EqualFunc(got, want, slices.Equal) {
				t.Errorf("Files() = %q, want %q", got, want)
			}
			for _, id := range tt.wantIDs {
				if f := set.File(id); strings.ContainsRune(f, '/') || !strings.HasSuffix(f, ".json") {
					t.Errorf("File(%q) = %q, want a bare file name", id, f)
				}
			}
		})
	}
}

func TestLoadFilesGroupsApply(t *testing.T) {
	set, err := LoadFiles(bytesOf(map[string]string{
		"a.json":   pol("boards", `subjects=["group:job-boards"]`),
		GroupsFile: "groups:\n  job-boards: [jobbland]\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if d := set.Decide(Request{Actor: "jobbland", Action: ActionPublish, Dataset: "jobads"}); !d.Allowed || d.PolicyID != "boards" {
		t.Errorf("jobbland publish = %+v, want allowed by boards", d)
	}
	if d := set.Decide(Request{Actor: "other", Action: ActionPublish, Dataset: "jobads"}); d.Allowed {
		t.Errorf("other publish = %+v, want denied", d)
	}
}

func TestLoadFilesCopiesInput(t *testing.T) {
	in := bytesOf(map[string]string{"a.json": pol("a1")})
	set, err := LoadFiles(in)
	if err != nil {
		t.Fatal(err)
	}
	digest := set.Digest()
	in["a.json"][0] = ' '
	in["b.json"] = []byte(pol("b1"))
	if set.Digest() != digest || len(set.Files()) != 1 || set.Files()["a.json"][0] != '{' {
		t.Errorf("changing LoadFiles' input changed the Set")
	}
	files := set.Files()
	files["a.json"][0] = 'X'
	delete(files, "a.json")
	if got := set.Files()["a.json"]; string(got) != pol("a1") || set.Digest() != digest {
		t.Errorf("changing Files()' result changed the Set")
	}
}

func TestLoadFSMatchesLoadDir(t *testing.T) {
	files := map[string]string{
		"a.json":   pol("a1", `subjects=["group:job-boards"]`),
		"b.json":   "[" + pol("b1") + ", " + pol("b2") + "]",
		GroupsFile: "groups:\n  job-boards: [jobbland]\n",
		"notes.md": "ignored",
	}
	dir := writeDir(t, files)
	if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o700); err != nil { // a directory: ignored
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub.json", "c.json"), []byte(pol("c1")), 0o600); err != nil {
		t.Fatal(err)
	}
	fromDir, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	mapFS := fstest.MapFS{"sub/c.json": {Data: []byte(pol("c1"))}}
	for name, content := range files {
		mapFS[name] = &fstest.MapFile{Data: []byte(content)}
	}
	fromFS, err := LoadFS(mapFS)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := bytesOf(files)
	delete(wantFiles, "notes.md")
	for name, set := range map[string]*Set{"LoadDir": fromDir, "LoadFS": fromFS} {
		if got := set.PolicyIDs(); !slices.Equal(got, []string{"a1", "b1", "b2"}) {
			t.Errorf("%s: ids = %v", name, got)
		}
		if got := set.Files(); !maps.EqualFunc(got, wantFiles, slices.Equal) {
			t.Errorf("%s: Files() = %q, want %q", name, got, wantFiles)
		}
	}
	if fromDir.Digest() != fromFS.Digest() {
		t.Errorf("LoadDir digest %s != LoadFS digest %s", fromDir.Digest(), fromFS.Digest())
	}
	if got, want := fromDir.File("a1"), filepath.Join(dir, "a.json"); got != want {
		t.Errorf("LoadDir: File(a1) = %q, want %q", got, want)
	}
	if got := fromFS.File("a1"); got != "a.json" {
		t.Errorf("LoadFS: File(a1) = %q, want a.json", got)
	}
	// Round trip: what a Set was loaded from loads into the same Set.
	again, err := LoadFiles(fromDir.Files())
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest() != fromDir.Digest() || !slices.Equal(again.PolicyIDs(), fromDir.PolicyIDs()) {
		t.Errorf("LoadFiles(Files()) differs from the original Set")
	}
}

func TestLoadErrorsNameFiles(t *testing.T) {
	files := map[string]string{"bad.json": pol("p", `effect="maybe"`), "a.json": pol("x", `subjects=["group:nope"]`)}
	dir := writeDir(t, files)
	_, dirErr := LoadDir(dir)
	_, filesErr := LoadFiles(bytesOf(files))
	for _, w := range []string{
		filepath.Join(dir, "bad.json") + `: policy "p": effect`,
		filepath.Join(dir, "a.json") + `: policy "x": subjects`,
		filepath.Join(dir, GroupsFile) + " declares no such group",
	} {
		if dirErr == nil || !strings.Contains(dirErr.Error(), w) {
			t.Errorf("LoadDir error %v does not mention %q", dirErr, w)
		}
	}
	if filesErr == nil || strings.Contains(filesErr.Error(), dir) {
		t.Fatalf("LoadFiles error %v should not name a directory", filesErr)
	}
	for _, line := range strings.Split(filesErr.Error(), "\n") {
		if !strings.HasPrefix(line, "bad.json: ") && !strings.HasPrefix(line, "a.json: ") {
			t.Errorf("LoadFiles error line %q does not start with the bare file name", line)
		}
	}

	// A file that cannot be read is named as os.ReadFile would name it.
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "dangling.json")); err != nil {
		t.Skip("no symlinks:", err)
	}
	_, err := LoadDir(dir)
	if want := "open " + filepath.Join(dir, "dangling.json") + ": "; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("LoadDir error %v does not mention %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDir error %v does not match fs.ErrNotExist", err)
	}
}

func TestLoadDirErrorNamesDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := LoadDir(missing)
	if want := "policy: read policies directory: open " + missing + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("LoadDir error %v, want prefix %q", err, want)
	}
	if _, err := LoadDir(""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf(`LoadDir("") error %v, want not exist`, err)
	}
	if _, err := LoadFS(fstest.MapFS{}); err != nil {
		t.Errorf("LoadFS of an empty fs: %v", err)
	}
}

func TestDigest(t *testing.T) {
	base := map[string]string{"a.json": pol("a1"), "b.json": pol("b1")}
	load := func(t *testing.T, files map[string]string) *Set {
		t.Helper()
		set, err := LoadFiles(bytesOf(files))
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	with := func(changes map[string]string) map[string]string {
		m := maps.Clone(base)
		for k, v := range changes {
			if v == "-" {
				delete(m, k)
				continue
			}
			m[k] = v
		}
		return m
	}
	baseDigest := load(t, base).Digest()

	t.Run("stable", func(t *testing.T) {
		for range 20 { // map order must not matter
			if got := load(t, base).Digest(); got != baseDigest {
				t.Fatalf("digest changed between loads: %s != %s", got, baseDigest)
			}
		}
		if got := loadFixture(t, base).Digest(); got != baseDigest {
			t.Errorf("LoadDir digest %s != LoadFiles digest %s", got, baseDigest)
		}
		if len(baseDigest) != 64 {
			t.Errorf("digest %q is not hex SHA-256", baseDigest)
		}
	})

	t.Run("known values", func(t *testing.T) {
		empty := sha256.Sum256(nil)
		if got := load(t, map[string]string{}).Digest(); got != hex.EncodeToString(empty[:]) {
			t.Errorf("empty set digest = %s", got)
		}
		if got := (&Set{}).Digest(); got != hex.EncodeToString(empty[:]) {
			t.Errorf("zero Set digest = %s", got)
		}
		// Pinned so that a change of the encoding (which would make the hub
		// see every stored set as changed) is noticed.
		const want = "d0e442558d680f3e8f42c368439ca517f18ead201eae481da200729dea6f7b73"
		if got := load(t, map[string]string{"a.json": `{"id": "p", "subjects": ["actor:a"], "resources": ["dataset:d"], "actions": ["publish"], "effect": "allow"}`}).Digest(); got != want {
			t.Errorf("pinned digest = %s, want %s", got, want)
		}
	})

	tests := []struct {
		name    string
		changes map[string]string
	}{
		{"content changed", map[string]string{"a.json": pol("a1") + "\n"}},
		{"file renamed", map[string]string{"a.json": "-", "c.json": pol("a1")}},
		{"file added", map[string]string{"c.json": pol("c1")}},
		{"file removed", map[string]string{"b.json": "-"}},
		{"groups added", map[string]string{GroupsFile: "groups: {}\n"}},
		{"contents swapped", map[string]string{"a.json": pol("b1"), "b.json": pol("a1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := load(t, with(tt.changes)).Digest(); got == baseDigest {
				t.Errorf("digest unchanged")
			}
		})
	}
}

func TestLoadFileFiles(t *testing.T) {
	dir := writeDir(t, map[string]string{"one.json": pol("single")})
	set, err := LoadFile(filepath.Join(dir, "one.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Files(); len(got) != 1 || string(got["one.json"]) != pol("single") {
		t.Errorf("Files() = %q, want one.json only", got)
	}
	if set.Digest() != loadFixture(t, map[string]string{"one.json": pol("single")}).Digest() {
		t.Errorf("LoadFile and LoadDir digests of the same file differ")
	}
}

func TestMemFS(t *testing.T) {
	m := newMemFS(bytesOf(map[string]string{"a.json": pol("a1"), "b.json": "", GroupsFile: "groups: {}\n"}))
	if err := fstest.TestFS(m, "a.json", "b.json", GroupsFile); err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(newMemFS(nil)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"missing.json", "../a.json", "/a.json", "a.json/x"} {
		if _, err := m.Open(name); err == nil {
			t.Errorf("Open(%q) succeeded", name)
		}
	}
}
