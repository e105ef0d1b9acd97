//go:build !unix

package main_test

func execWithFileLimitIfAsked() {}
