// Package jobstream connects the hub to JobTech's JobStream API, the feed
// through which Arbetsförmedlingen (the Swedish Public Employment Service)
// publishes every open job ad and every change to it. It works both ways:
//
//   - a plugin.Source named "jobstream" polls a JobStream-style API (the real
//     one or any server that speaks its format) and hands each ad, and each
//     removal as a tombstone, to the hub;
//   - format helpers ([AdFromEnvelope], [ParseStreamQuery], [WriteStream],
//     [WriteSnapshot]) let the connector's local HTTP API answer
//     GET /stream and GET /snapshot in JobStream's own format, so an existing
//     JobStream client can point at the sidecar unchanged.
//
// # What the real JobStream API does
//
// Sources: the JobStream getting-started guide
// (https://jobtechdev.se/en/docs/opendata/apis/jobstream/getting-started/,
// also jobtechdev.se/devguide/apis/jobstream.html) and the API's own code in
// github.com/JobtechSwe/sokannonser-api (the bulk namespace: settings.py
// DATE/UPDATED_BEFORE_DATE/OCCUPATION_CONCEPT_ID/LOCATION_CONCEPT_ID, the
// "stream" and "snapshot" resources and the repository's load_all and
// load_snapshot generators).
//
//   - Host https://jobstream.api.jobtechdev.se. Requests carry the headers
//     "accept: application/json" and "api-key: <key>" (a key from
//     apirequest.jobtechdev.se). Rate limit: one request per minute.
//   - GET /stream?date=YYYY-MM-DDTHH:MM:SS returns every ad changed (added,
//     updated, unpublished) since date. Optional updated-before-date (same
//     format) bounds the window; it defaults to "now". The window is on the
//     ad's own timestamp field (epoch milliseconds of its last change):
//     timestamp >= date and timestamp <= updated-before-date + 1 s (the
//     server adds a second for millisecond truncation). Dates carry no zone;
//     the server reads them as its local time, Swedish time.
//   - Filters: occupation-concept-id and location-concept-id, each
//     repeatable. Several ids of one kind are OR-ed; occupation ids match the
//     ad's occupation, occupation_group or occupation_field concept id,
//     location ids its workplace_address municipality, region, country (or
//     city) concept id; the two kinds together are AND-ed.
//   - GET /snapshot (no parameters) returns every currently open ad, without
//     removals; about 300 MB. It is meant for the initial copy, after which
//     /stream keeps it up to date.
//   - Both answer 200 with a bare JSON array, written incrementally while the
//     server scans Elasticsearch, so it has no guaranteed order (the guide
//     notes removals "are typically grouped together"). A new and an updated
//     ad look the same: the full ad. A removed ad is a removal object
//     {"id", "removed": true, "removed_date", "occupation",
//     "occupation_group", "occupation_field", "municipality", "region",
//     "country"}, the last six being concept ids (older versions sent the id
//     as a number). Only ads open for application (publication_date <= now
//     <= last_publication_date) are served.
//   - Errors: 400 bad query, 401 bad api key, 429 rate limit, 500 server.
//   - The current form is v2: GET /v2/stream?updated-after=…[&updated-before=…]
//     and GET /v2/snapshot, with the same occupation-concept-id and
//     location-concept-id filters (repeatable) and the same answer, a bare
//     JSON array of ads and removal objects. (Parameter names as JobStream's
//     published Swagger description v2 names them; the v1 date form above
//     stays served.) This package parses both ([ParseStreamQuery],
//     [ParseStreamQueryV2]) and takes the concept filters on the snapshot
//     too ([ParseSnapshotQuery], [WithFilter]).
//
// # Decisions
//
// The hub's /stream window is on the envelope's published_at, the time the
// hub stored the change, not on the ad's timestamp field: JobStream's date
// means "changes the server got since", and published_at is exactly that for
// the hub, set by the hub and monotonic in stream order, while an ad's
// timestamp is whatever its publisher wrote. The window is half-open,
// [date, updated-before-date), so consecutive windows never overlap.
// Envelopes are written in the order given (the hub's sequence order), each
// version of an ad as its own element.
//
// The source keeps a durable cursor (the last window end fully processed) in
// its state folder and advances it only when every record of a poll was
// acked, so a crash re-reads at most the last window; record ids are
// "jobstream-<ad id>-<hash of the ad>", so the hub stores a re-read once.
// JobStream has one id space; a hub dataset whose keys are scoped by
// publisher has one per publisher. [AdIDs] keeps ids unique and stable: the
// dataset owner's ads keep their ids, every other publisher's ad and removal
// carries "<publisher>:<id>", so one publisher's removal never removes
// another's ad at a JobStream client.
//
// Removal objects are normalised to the hub's tombstone form
// {"id": "<string>", "removed": true, "removed_date": ...}: the hub's jobads
// schema wants a string id and taxonomy references as objects, not the bare
// concept ids of the removal object.
package jobstream
