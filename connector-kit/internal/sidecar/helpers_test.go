package sidecar_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/goccy/go-yaml"
)

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func logger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// mapSlice builds a plugin config section from key, value pairs.
func mapSlice(kv ...string) yaml.MapSlice {
	var m yaml.MapSlice
	for i := 0; i+1 < len(kv); i += 2 {
		m = append(m, yaml.MapItem{Key: kv[i], Value: kv[i+1]})
	}
	return m
}
