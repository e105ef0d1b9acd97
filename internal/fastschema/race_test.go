//go:build race

package fastschema

// raceEnabled: the race detector slows the reference tenfold and makes
// sync.Pool drop items, so the differential tests sample and allocation
// counts are not checked.
const raceEnabled = true
