package jobstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // JobStream's clock is Swedish time; don't depend on the host's zoneinfo.

	"github.com/jobtech-dev/datahub/connector-kit/wire"
)

// JobStream's query parameters, header and content type.
const (
	ParamDate                = "date"
	ParamUpdatedBeforeDate   = "updated-before-date"
	ParamOccupationConceptID = "occupation-concept-id"
	ParamLocationConceptID   = "location-concept-id"
	// HeaderAPIKey carries the API key on every JobStream request.
	HeaderAPIKey = "api-key"
	// ContentType is the media type of /stream and /snapshot answers.
	ContentType = "application/json"
)

// DateLayout is JobStream's date format: local Swedish time, no zone,
// e.g. 2021-01-11T10:00:00.
const DateLayout = "2006-01-02T15:04:05"

// dateHelp tells a caller what a date parameter must look like.
const dateHelp = "want YYYY-MM-DDTHH:MM:SS in Swedish local time (e.g. 2021-01-11T10:00:00), or RFC 3339 with a zone"

var stockholm = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil { // cannot happen with time/tzdata linked in
		return time.FixedZone("CET", 3600)
	}
	return loc
})

// Location returns the zone JobStream's dates are in: Europe/Stockholm.
func Location() *time.Location { return stockholm() }

// FormatDate formats t as a JobStream date: Swedish local time, whole seconds.
func FormatDate(t time.Time) string { return t.In(Location()).Format(DateLayout) }

// ParseDate parses the value of the JobStream date parameter param ("date",
// "updated-before-date", or a config field's name): YYYY-MM-DDTHH:MM:SS in
// Swedish local time, optionally with fractional seconds, or RFC 3339 with an
// explicit zone. A bad value returns an error wrapping [ErrInvalidDate] that
// names the parameter and the expected format.
func ParseDate(param, value string) (time.Time, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return time.Time{}, fmt.Errorf("%w: %s is empty: %s", ErrInvalidDate, param, dateHelp)
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{DateLayout, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, v, Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %s=%q: %s", ErrInvalidDate, param, value, dateHelp)
}

// StreamQuery is a parsed GET /stream request.
type StreamQuery struct {
	// Since is the window's start (inclusive): JobStream's date.
	Since time.Time
	// Before is the window's end (exclusive): JobStream's
	// updated-before-date. Zero means no end ("now").
	Before time.Time
	// OccupationConceptIDs keeps ads whose occupation, occupation group or
	// occupation field is one of these concept ids.
	OccupationConceptIDs []string
	// LocationConceptIDs keeps ads whose workplace municipality, region,
	// country or city is one of these concept ids.
	LocationConceptIDs []string
}

// ParseStreamQuery parses the query of a GET /stream request. date is
// required; updated-before-date, occupation-concept-id and
// location-concept-id are optional; other parameters are ignored, as
// JobStream does. Errors wrap [ErrMissingParameter] or [ErrInvalidDate] and
// name the parameter.
func ParseStreamQuery(v url.Values) (StreamQuery, error) {
	var q StreamQuery
	if !v.Has(ParamDate) {
		return q, fmt.Errorf("%w: %s is required: %s", ErrMissingParameter, ParamDate, dateHelp)
	}
	var err error
	if q.Since, err = ParseDate(ParamDate, v.Get(ParamDate)); err != nil {
		return q, err
	}
	if v.Has(ParamUpdatedBeforeDate) {
		if q.Before, err = ParseDate(ParamUpdatedBeforeDate, v.Get(ParamUpdatedBeforeDate)); err != nil {
			return q, err
		}
		if !q.Before.After(q.Since) {
			return q, fmt.Errorf("%w: %s=%q is not after %s=%q", ErrInvalidDate,
				ParamUpdatedBeforeDate, v.Get(ParamUpdatedBeforeDate), ParamDate, v.Get(ParamDate))
		}
	}
	q.OccupationConceptIDs = nonEmpty(v[ParamOccupationConceptID])
	q.LocationConceptIDs = nonEmpty(v[ParamLocationConceptID])
	return q, nil
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Values encodes q as a JobStream query, dates in JobStream's format.
func (q StreamQuery) Values() url.Values {
	v := url.Values{}
	v.Set(ParamDate, FormatDate(q.Since))
	if !q.Before.IsZero() {
		v.Set(ParamUpdatedBeforeDate, FormatDate(q.Before))
	}
	for _, id := range q.OccupationConceptIDs {
		v.Add(ParamOccupationConceptID, id)
	}
	for _, id := range q.LocationConceptIDs {
		v.Add(ParamLocationConceptID, id)
	}
	return v
}

// Contains reports whether a change the hub stored at publishedAt falls in
// the window [Since, Before).
func (q StreamQuery) Contains(publishedAt time.Time) bool {
	if publishedAt.Before(q.Since) {
		return false
	}
	return q.Before.IsZero() || publishedAt.Before(q.Before)
}

// Match reports whether the ad passes the query's concept filters. A
// tombstone that carries no concept ids passes every filter: dropping it
// could leave a client with an ad that no longer exists, while removing an
// id a client never had is harmless.
func (q StreamQuery) Match(ad json.RawMessage) bool {
	if len(q.OccupationConceptIDs) == 0 && len(q.LocationConceptIDs) == 0 {
		return true
	}
	var f adFields
	if err := json.Unmarshal(ad, &f); err != nil {
		return false
	}
	occ := f.occupationIDs()
	loc := f.locationIDs()
	if f.Removed && len(occ) == 0 && len(loc) == 0 {
		return true
	}
	return matchAny(q.OccupationConceptIDs, occ) && matchAny(q.LocationConceptIDs, loc)
}

func matchAny(want, have []string) bool {
	if len(want) == 0 {
		return true
	}
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// conceptRef is a taxonomy reference as an ad has it ({"concept_id": ...})
// or as a JobStream removal object has it (the bare concept id).
type conceptRef string

func (c *conceptRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = conceptRef(s)
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ConceptID string `json:"concept_id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*c = conceptRef(o.ConceptID)
	}
	return nil // null or anything else: no concept
}

// adFields are the few fields of an ad this package looks at.
type adFields struct {
	ID              json.RawMessage `json:"id"`
	Removed         bool            `json:"removed"`
	RemovedDate     *string         `json:"removed_date"`
	Occupation      conceptRef      `json:"occupation"`
	OccupationGroup conceptRef      `json:"occupation_group"`
	OccupationField conceptRef      `json:"occupation_field"`
	// Removal objects carry the location concept ids at the top level.
	Municipality     conceptRef `json:"municipality"`
	Region           conceptRef `json:"region"`
	Country          conceptRef `json:"country"`
	WorkplaceAddress *struct {
		MunicipalityConceptID *string `json:"municipality_concept_id"`
		RegionConceptID       *string `json:"region_concept_id"`
		CountryConceptID      *string `json:"country_concept_id"`
		CityConceptID         *string `json:"city_concept_id"`
	} `json:"workplace_address"`
}

func (f *adFields) occupationIDs() []string {
	return nonEmpty([]string{string(f.Occupation), string(f.OccupationGroup), string(f.OccupationField)})
}

func (f *adFields) locationIDs() []string {
	ids := []string{string(f.Municipality), string(f.Region), string(f.Country)}
	if w := f.WorkplaceAddress; w != nil {
		for _, p := range []*string{w.MunicipalityConceptID, w.RegionConceptID, w.CountryConceptID, w.CityConceptID} {
			if p != nil {
				ids = append(ids, *p)
			}
		}
	}
	return nonEmpty(ids)
}

// adID returns the ad's id as a string: JobStream ids are strings, but some
// removal objects carried them as numbers (8460292 or 8460292.0).
func (f *adFields) adID() (string, bool) {
	raw := bytes.TrimSpace(f.ID)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return "", false
	}
	s := strings.TrimSuffix(n.String(), ".0")
	return s, s != ""
}

// removal is a JobStream removal object. The six concept fields are included
// only when known (the hub's own tombstones carry none).
type removal struct {
	ID              string  `json:"id"`
	Removed         bool    `json:"removed"`
	RemovedDate     *string `json:"removed_date"`
	Occupation      string  `json:"occupation,omitempty"`
	OccupationGroup string  `json:"occupation_group,omitempty"`
	OccupationField string  `json:"occupation_field,omitempty"`
	Municipality    string  `json:"municipality,omitempty"`
	Region          string  `json:"region,omitempty"`
	Country         string  `json:"country,omitempty"`
}

// AdIDs says which id each ad carries in JobStream's output. JobStream has
// one id space. A hub dataset with key_scope: dataset has one too (a key
// belongs to one publisher), so every ad keeps its own id. A dataset with
// key_scope: publisher gives each publisher its own key space, and two
// publishers may each store an ad "22884504": there the dataset owner's ads
// keep their ids (Arbetsförmedlingen's feed reads as JobStream's), and every
// other publisher's ad id is prefixed with its publisher,
// "jobbland:22884504", in ads and removals alike. The ids are stable, and a
// removal from one publisher can never remove another's ad at the client.
type AdIDs struct {
	// PerPublisher is true for a dataset whose keys are scoped by publisher.
	PerPublisher bool
	// Owner is the publisher whose ads keep their ids as they are.
	Owner string
}

// For returns AdIDs for a dataset as the kit describes it (key scope and
// owner).
func For(keyScope, owner string) AdIDs {
	return AdIDs{PerPublisher: keyScope == wire.KeyScopePublisher, Owner: owner}
}

// prefix returns what e's ad id is prefixed with ("" for none).
func (a AdIDs) prefix(e wire.Envelope) string {
	if !a.PerPublisher || e.Publisher == a.Owner || e.Publisher == "" {
		return ""
	}
	return e.Publisher + ":"
}

// AdFromEnvelope returns a stored job-ad record as JobStream serves it, every
// ad under its own id (see [AdIDs] for datasets with several publishers). An
// ad is its record data, byte for byte. A tombstone (the envelope says so,
// or the data has "removed": true) becomes a removal object
// {"id", "removed": true, "removed_date"}, plus the occupation and location
// concept ids when the data has them; removed_date is the record's own, else
// the hub's publish time in JobStream's date format. Data that is not a JSON
// object with an id returns an error wrapping [ErrNotAd].
func AdFromEnvelope(e wire.Envelope) (json.RawMessage, error) {
	ad, _, err := renderAd(e, AdIDs{})
	return ad, err
}

// Ad is AdFromEnvelope with the ad's id as ids says: an ad whose id gets a
// prefix is the record data with only its top-level "id" value replaced.
func (a AdIDs) Ad(e wire.Envelope) (json.RawMessage, error) {
	ad, _, err := renderAd(e, a)
	return ad, err
}

// renderAd is AdFromEnvelope that also says whether the ad is a removal.
func renderAd(e wire.Envelope, ids AdIDs) (json.RawMessage, bool, error) {
	data := bytes.TrimSpace(e.Data)
	if len(data) == 0 || data[0] != '{' {
		return nil, false, fmt.Errorf("%w: record %s (key %q): data is not a JSON object", ErrNotAd, e.ID, e.Key)
	}
	prefix := ids.prefix(e)
	open := func() (json.RawMessage, bool, error) {
		if prefix == "" {
			return e.Data, false, nil
		}
		ad, err := prefixID(data, prefix, e.Key)
		if err != nil {
			return nil, false, fmt.Errorf("%w: record %s (key %q): %v", ErrNotAd, e.ID, e.Key, err)
		}
		return ad, false, nil
	}
	if !e.Tombstone && !bytes.Contains(data, []byte(`"removed"`)) {
		return open() // no removed field: an open ad, no decoding
	}
	var f adFields
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, false, fmt.Errorf("%w: record %s (key %q): %v", ErrNotAd, e.ID, e.Key, err)
	}
	if !e.Tombstone && !f.Removed {
		return open()
	}
	id, ok := f.adID()
	if !ok {
		id = e.Key
	}
	if id == "" {
		return nil, false, fmt.Errorf("%w: tombstone %s has neither an id nor a key", ErrNotAd, e.ID)
	}
	r := removal{ID: prefix + id, Removed: true, RemovedDate: f.RemovedDate}
	if r.RemovedDate == nil || *r.RemovedDate == "" {
		d := FormatDate(e.PublishedAt)
		r.RemovedDate = &d
	}
	occ := []*string{&r.Occupation, &r.OccupationGroup, &r.OccupationField}
	for i, c := range []conceptRef{f.Occupation, f.OccupationGroup, f.OccupationField} {
		*occ[i] = string(c)
	}
	r.Municipality, r.Region, r.Country = string(f.Municipality), string(f.Region), string(f.Country)
	if w := f.WorkplaceAddress; w != nil {
		setIfEmpty(&r.Municipality, w.MunicipalityConceptID)
		setIfEmpty(&r.Region, w.RegionConceptID)
		setIfEmpty(&r.Country, w.CountryConceptID)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, true, fmt.Errorf("jobstream: encode removal of %s: %w", id, err)
	}
	return b, true, nil
}

// prefixID returns the ad object data with the value of its top-level "id"
// member replaced by prefix + that id as a string (a numeric id becomes its
// digits; an ad without an id gets key); every other byte stays as it was.
func prefixID(data []byte, prefix, key string) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if _, err := d.Token(); err != nil { // '{'
		return nil, err
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		start := d.InputOffset()
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return nil, err
		}
		if tok != "id" {
			continue
		}
		end := d.InputOffset()
		// data[start:end] is `: <value>` with any spaces: find the value.
		v := start + int64(bytes.Index(data[start:end], bytes.TrimSpace(raw)))
		f := adFields{ID: raw}
		id, ok := f.adID()
		if !ok {
			id = key
		}
		q, _ := json.Marshal(prefix + id)
		out := make([]byte, 0, len(data)+len(prefix)+2)
		out = append(append(append(out, data[:v]...), q...), data[v+int64(len(bytes.TrimSpace(raw))):]...)
		return out, nil
	}
	return nil, fmt.Errorf("no id member to prefix with %q", prefix)
}

func setIfEmpty(dst *string, src *string) {
	if *dst == "" && src != nil {
		*dst = *src
	}
}

// WriteStream answers GET /stream (and /v2/stream): it writes, as one JSON
// array, one entry per ad changed in q's window — the ad's latest state in
// the window, or its removal object when that latest change removed it — as
// JobStream answers, for the ads that pass q's filters (judged on that latest
// state). Each is rendered as [AdFromEnvelope] renders it, in the order of
// their latest change. An ad is one id as the client sees it (see [AdIDs]):
// the envelope's key, prefixed for another publisher's ads.
//
// envs is ranged over twice and must yield the same records from the same
// start each time (records stored in between may follow; they are left
// out): the first pass notes each ad's latest change in the window, holding
// only ids, and the second writes those, holding one ad at a time, so a
// window of any size is answered in constant memory per ad. envs should end
// once it has yielded what the hub holds; envelopes after the window are
// skipped, not a reason to stop.
//
// It returns how many ads it wrote. An envelope that is not an ad is
// skipped. An error from envs, ctx or w is returned after the array was
// opened but without closing it, so the client sees a truncated answer
// rather than a short but valid one; the caller should then abort the
// response.
func WriteStream(ctx context.Context, w io.Writer, q StreamQuery, envs iter.Seq2[wire.Envelope, error], opts ...WriteOption) (int, error) {
	o := writeOptionsOf(opts)
	latest := map[string]uint64{}
	var pass1 uint64
	for e, err := range envs {
		if err != nil {
			_, _ = io.WriteString(w, "[")
			return 0, err
		}
		if err := ctx.Err(); err != nil {
			_, _ = io.WriteString(w, "[")
			return 0, err
		}
		pass1++
		if q.Contains(e.PublishedAt) {
			latest[o.ids.prefix(e)+e.Key] = position(e, pass1)
		}
	}
	var pass2 uint64
	return writeArray(ctx, w, envs, func(e wire.Envelope) (json.RawMessage, bool) {
		pass2++
		if !q.Contains(e.PublishedAt) {
			return nil, false
		}
		if at, ok := latest[o.ids.prefix(e)+e.Key]; !ok || at != position(e, pass2) {
			return nil, false // a later change of this ad in the window stands for it
		}
		ad, _, err := renderAd(e, o.ids)
		if err != nil || !q.Match(ad) {
			return nil, false
		}
		return ad, true
	})
}

// position identifies an envelope across the two passes of WriteStream: its
// stream sequence, or, for envelopes that carry none, its place in the pass.
func position(e wire.Envelope, n uint64) uint64 {
	if e.Seq != 0 {
		return e.Seq
	}
	return n
}

// WriteSnapshot answers GET /snapshot (and /v2/snapshot): it writes, as one
// JSON array, the ads of envs (the latest record per key), leaving out
// tombstones as JobStream's snapshot leaves out removed ads, and, given
// [WithFilter], the ads its concept filters do not match. Like [WriteStream] it streams, returns the
// number of ads written and leaves the array open on error. Unlike
// JobStream it does not drop ads whose last_publication_date has passed:
// the hub keeps an ad until someone removes it.
func WriteSnapshot(ctx context.Context, w io.Writer, envs iter.Seq2[wire.Envelope, error], opts ...WriteOption) (int, error) {
	o := writeOptionsOf(opts)
	return writeArray(ctx, w, envs, func(e wire.Envelope) (json.RawMessage, bool) {
		ad, removed, err := renderAd(e, o.ids)
		if err != nil || removed || !o.filter.Match(ad) {
			return nil, false
		}
		return ad, true
	})
}

// WriteOption tunes WriteStream and WriteSnapshot.
type WriteOption func(*writeOptions)

type writeOptions struct {
	ids    AdIDs
	filter StreamQuery // only its concept filters are used
}

// WithFilter keeps only the ads that q's occupation and location concept
// filters match (its window is not used): for a snapshot, which JobStream's
// v2 API filters too.
func WithFilter(q StreamQuery) WriteOption { return func(o *writeOptions) { o.filter = q } }

// WithAdIDs serves ads under the ids ids gives (see [AdIDs]); without it
// every ad keeps its own id.
func WithAdIDs(ids AdIDs) WriteOption { return func(o *writeOptions) { o.ids = ids } }

func writeOptionsOf(opts []WriteOption) writeOptions {
	var o writeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func writeArray(ctx context.Context, w io.Writer, envs iter.Seq2[wire.Envelope, error], render func(wire.Envelope) (json.RawMessage, bool)) (int, error) {
	if _, err := io.WriteString(w, "["); err != nil {
		return 0, err
	}
	n := 0
	for e, err := range envs {
		if err != nil {
			return n, err
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ad, ok := render(e)
		if !ok {
			continue
		}
		if n > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return n, err
			}
		}
		if _, err := w.Write(ad); err != nil {
			return n, err
		}
		n++
	}
	_, err := io.WriteString(w, "]")
	return n, err
}
