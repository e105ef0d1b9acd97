// Package jobstreamtest is a fake JobTech JobStream server for tests: it
// serves real ads from an NDJSON file in JobStream's own format, lets a test
// add, change and remove ads, checks an API key, and answers 503 on demand.
//
// It is independent of package jobstream (it parses JobStream's dates
// itself), so it checks that package against the format, not against its
// own reading of it.
package jobstreamtest
