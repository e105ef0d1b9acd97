package wire

// PayloadHeadroom is what a hub adds to its largest record to get its NATS
// max_payload: room for the headers of an ingest request and of the stored
// record. A client learns the hub's record limit from the server's
// max_payload (sent at connect) as max_payload - PayloadHeadroom, without
// asking the hub anything.
const PayloadHeadroom = 64 << 10

// HubMaxRecordBytes is the largest record a hub whose NATS max_payload is
// maxPayload accepts; 0 when maxPayload is not known.
func HubMaxRecordBytes(maxPayload int64) int {
	if maxPayload <= PayloadHeadroom {
		return int(max(maxPayload, 0))
	}
	return int(maxPayload - PayloadHeadroom)
}
