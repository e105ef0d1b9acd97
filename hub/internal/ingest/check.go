package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/jobtech-dev/datahub/connector-kit/schema"
	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/owners"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// check validates one record and prepares what to store: the stamped record
// or its dead letter (j.out), or the answer when nothing is stored. It runs
// on many workers at once.
func (s *Service) check(j *job) {
	dataset, actor, err := wire.ParseIngestSubject(j.msg.Subject)
	j.actor = actor
	if err != nil {
		s.reject(j, "", "bad ingest subject", []wire.Violation{{Keyword: "subject", Message: err.Error()}})
		return
	}
	d, ok := s.reg.Get(dataset)
	if !ok {
		s.reject(j, dataset, "unknown dataset", []wire.Violation{{Keyword: "dataset", Message: fmt.Sprintf("dataset %q is not declared on this hub", dataset)}})
		return
	}
	if d.Retired != nil {
		s.refuse(j, dataset, wire.CodeRetired, fmt.Sprintf("dataset %s was retired at %s by %s: its records can still be read, but it takes no new ones",
			dataset, d.Retired.At.UTC().Format(time.RFC3339), d.Retired.By))
		return
	}
	// The latest version, or the one the publisher pinned (a batch request's
	// pin holds for each of its records).
	ver, pv := d.VersionFor(j.msg.Header.Get(wire.RequestSchemaVersion))
	if pv != nil {
		s.reject(j, dataset, pv.Message, []wire.Violation{*pv})
		return
	}
	res := d.CheckerFor(ver).Check(j.data, s.opts.Limits)
	if res.Reference {
		s.byReference.Add(1)
	}
	if res.Disagreement {
		s.log.Warn("the fast validator refused a record the reference accepts; the reference's verdict stands", "dataset", dataset, "validator", d.Validator())
	}
	if len(res.Violations) > 0 {
		s.reject(j, dataset, reasonOf(res.Violations), res.Violations)
		return
	}
	if res.KeyProblem != "" {
		kv := d.KeyViolation(res.KeyProblem)
		s.reject(j, dataset, kv.Message, []wire.Violation{*kv})
		return
	}
	key := res.Key
	if !j.idGiven {
		u, err := uuid.NewV7()
		if err != nil {
			s.unavailableNow(j, dataset, fmt.Errorf("make record id: %w", err))
			return
		}
		j.id = u.String()
	} else if !wire.ValidRecordID(j.id) {
		s.reject(j, dataset, "bad record id", []wire.Violation{{Keyword: "recordId", Message: fmt.Sprintf("header %s must be 1 to %d printable ASCII characters without spaces", wire.RequestRecordID, wire.MaxRecordIDLen)}})
		return
	}
	origin := s.opts.Origin
	if !d.ScopedByPublisher() && !s.claim(j, d, key, origin) {
		return
	}
	s.stamp(j, d, ver.Number, key, origin, res.Tombstone)
	if res.Warnings != nil {
		j.reply.Warnings = res.Warnings
		s.warned.Add(1)
		s.warnLog.log(s.log, dataset, j.actor, key, res.Warnings)
	}
}

// stamp prepares the stored record: the record as published, with the
// envelope headers, under its key's subject.
func (s *Service) stamp(j *job, d *registry.Dataset, version int, key, origin string, tombstone bool) {
	// The envelope id carries origin and publisher: JetStream dedupes on it,
	// so each publisher's record ids are its own.
	envID := wire.EnvelopeID(origin, j.actor, j.id)
	// One allocation holds every header value.
	v := new([8]string)
	v[0], v[1], v[2], v[3], v[4], v[5], v[6] = envID, j.id, d.Name, key, strconv.Itoa(version), j.actor, origin
	h := make(nats.Header, 8)
	h[wire.HeaderRecordID] = v[0:1:1]
	h[wire.HeaderPublisherRecordID] = v[1:2:2]
	h[wire.HeaderDataset] = v[2:3:3]
	h[wire.HeaderKey] = v[3:4:4]
	h[wire.HeaderSchemaVersion] = v[4:5:5]
	h[wire.HeaderPublisher] = v[5:6:6]
	h[wire.HeaderOrigin] = v[6:7:7]
	if tombstone {
		v[7] = "true"
		h[wire.HeaderTombstone] = v[7:8:8]
	}
	j.out = &nats.Msg{Subject: d.Subject(key, origin, j.actor), Data: j.data, Header: h}
	j.reply = wire.Reply{Status: wire.StatusStored, ID: j.id, EnvelopeID: envID, Dataset: d.Name, Key: key}
}

// claim checks that j's actor of origin may write key of d, a dataset whose
// keys are owned: it owns the key, or is the first to claim it. It reports
// whether it may; if not, j holds the refusal (dead-lettered, naming the
// owner) or an unavailable answer when ownership could not be decided.
func (s *Service) claim(j *job, d *registry.Dataset, key, origin string) bool {
	why, err := s.keyRefusal(d, key, origin, j.actor)
	switch {
	case err != nil:
		s.unavailableNow(j, d.Name, err)
		return false
	case why != "":
		s.reject(j, d.Name, why, []wire.Violation{{Pointer: d.KeyPointer(), Keyword: "owner", Message: why}})
		return false
	}
	return true
}

// keyRefusal says why actor of origin may not write key of d (a dataset
// whose keys are owned), "" when it may; an error when ownership could not
// be decided.
func (s *Service) keyRefusal(d *registry.Dataset, key, origin, actor string) (string, error) {
	if s.opts.Owners == nil {
		return "", errors.New("key ownership is not available on this hub")
	}
	owner, known := s.opts.Owners.Lookup(d.Name, key) // a known key: no round trip
	mine := known && owner == owners.Owner{Origin: origin, Publisher: actor}
	if !known {
		ctx, cancel := context.WithTimeout(s.life, claimTimeout)
		defer cancel()
		var err error
		if owner, mine, err = s.opts.Owners.Claim(ctx, d.Name, key, origin, actor); err != nil {
			return "", err
		}
	}
	if mine {
		return "", nil
	}
	return fmt.Sprintf("key %q belongs to %s: only its owner may store or remove a record under it (the owner of dataset %s, %s, or an admin can transfer it)",
		key, owner, d.Name, d.Owner), nil
}

// maxDeadLetterBytes bounds how much of an oversized record is kept, so a
// flood of huge bad records cannot push good dead letters out.
const maxDeadLetterBytes = 64 << 10

// maxViolationsHeader bounds the violations copied into the dead letter.
const maxViolationsHeader = 16 << 10

// reject makes j a refusal: its dead letter to store, and the answer.
func (s *Service) reject(j *job, dataset, reason string, viol []wire.Violation) {
	j.out = s.deadLetter(j, dataset, reason, viol)
	code := codeOf(viol)
	j.reply = wire.Reply{Status: wire.StatusFor(code), Code: code, Dataset: dataset, Error: reason, Violations: viol}
	j.rejected = true
}

// deadLetter is what the dead-letter stream keeps of j's record refused for
// reason.
func (s *Service) deadLetter(j *job, dataset, reason string, viol []wire.Violation) *nats.Msg {
	actor := j.actor
	if actor == "" {
		actor = "?"
	}
	subjDataset := dataset
	if !wire.ValidName(subjDataset) {
		subjDataset = "_invalid"
	}
	vj, _ := json.Marshal(viol)
	if len(vj) > maxViolationsHeader {
		vj, _ = json.Marshal(viol[:1])
	}
	h := nats.Header{
		wire.HeaderDataset:    {dataset},
		wire.HeaderPublisher:  {actor},
		wire.HeaderRejectedAt: {time.Now().UTC().Format(time.RFC3339Nano)},
		wire.HeaderReason:     {headerSafe(reason)},
		wire.HeaderViolations: {string(vj)},
		wire.HeaderSubject:    {headerSafe(j.msg.Subject)},
		wire.HeaderOrigin:     {s.opts.Origin},
	}
	if j.idGiven && wire.ValidRecordID(j.id) {
		h[wire.HeaderPublisherRecordID] = []string{j.id}
	}
	if f := j.fed; f != nil {
		// What the giving hub stamped, and where it came from.
		if f.Origin != "" {
			h.Set(wire.HeaderOrigin, f.Origin)
		}
		h.Set(wire.HeaderPeer, f.Peer)
		if len(f.Path) > 0 {
			h.Set(wire.HeaderPath, headerSafe(strings.Join(f.Path, ",")))
		}
	}
	data := j.data
	if len(data) > maxDeadLetterBytes {
		h["Hub-Truncated-From"] = []string{strconv.Itoa(len(data))}
		data = data[:maxDeadLetterBytes]
	}
	return &nats.Msg{Subject: wire.DeadLetterSubject(subjDataset), Data: data, Header: h}
}

// refuse makes j's answer a refusal for a reason that is not the record's
// (a retired dataset): nothing is stored, not even a dead letter.
func (s *Service) refuse(j *job, dataset string, code wire.Code, msg string) {
	j.out = nil
	j.reply = wire.Reply{Status: wire.StatusFor(code), Code: code, Dataset: dataset, Error: msg}
	j.rejected = true
}

// unavailableNow makes j's answer "unavailable" (retry) with nothing stored.
func (s *Service) unavailableNow(j *job, dataset string, err error) {
	s.log.Error("store record", "dataset", dataset, "err", err)
	j.out = nil
	j.reply = wire.Reply{Status: wire.StatusUnavailable, Code: wire.CodeUnavailable, Dataset: dataset, Error: "not stored, retry: " + err.Error()}
}

// codeOf is the code of a rejection: the pre-checks for an undeclared
// dataset and an oversized record have their own, anything else is invalid.
func codeOf(viol []wire.Violation) wire.Code {
	for _, v := range viol {
		switch v.Keyword {
		case "dataset":
			return wire.CodeUnknownDataset
		case schema.KeywordMaxBytes:
			return wire.CodeTooLarge
		}
	}
	return wire.CodeInvalid
}

// reasonOf summarises violations in one line.
func reasonOf(v []wire.Violation) string {
	if len(v) == 1 {
		return oneLine(v[0])
	}
	return fmt.Sprintf("%d violations, first: %s", len(v), oneLine(v[0]))
}

func oneLine(v wire.Violation) string {
	p := v.Pointer
	if p == "" {
		p = "/"
	}
	return fmt.Sprintf("%s: %s (%s)", p, v.Message, v.Keyword)
}

// headerSafe keeps a header value on one line and bounded.
func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}
