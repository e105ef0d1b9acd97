package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// apiTimeout bounds one JetStream API request of a backup or a restore.
const apiTimeout = 30 * time.Second

// snapshot is what the server said when a stream's snapshot began.
type snapshot struct {
	Config json.RawMessage
	State  json.RawMessage
	state  server.StreamState
}

// snapshotStream streams a JetStream snapshot of stream (with its consumers)
// to w, acking each chunk after w took it. The server gives up on a reader
// that takes more than 5 s for a chunk.
func snapshotStream(ctx context.Context, nc *nats.Conn, stream string, w io.Writer) (snapshot, error) {
	inbox := nc.NewRespInbox()
	chunks := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe(inbox, chunks)
	if err != nil {
		return snapshot{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	defer sub.Unsubscribe()
	req, _ := json.Marshal(server.JSApiStreamSnapshotRequest{DeliverSubject: inbox, ChunkSize: 256 << 10})
	rctx, cancel := context.WithTimeout(ctx, apiTimeout)
	msg, err := nc.RequestWithContext(rctx, fmt.Sprintf(server.JSApiStreamSnapshotT, stream), req)
	cancel()
	if err != nil {
		return snapshot{}, fmt.Errorf("snapshot %s: %w", stream, err)
	}
	var resp struct {
		server.ApiResponse
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return snapshot{}, fmt.Errorf("snapshot %s: answer: %w", stream, err)
	}
	if resp.Error != nil {
		return snapshot{}, fmt.Errorf("snapshot %s: %s (code %d)", stream, resp.Error.Description, resp.Error.ErrCode)
	}
	snap := snapshot{Config: resp.Config, State: resp.State}
	if err := json.Unmarshal(resp.State, &snap.state); err != nil {
		return snapshot{}, fmt.Errorf("snapshot %s: state: %w", stream, err)
	}
	for {
		var m *nats.Msg
		select {
		case <-ctx.Done():
			return snapshot{}, fmt.Errorf("snapshot %s: %w", stream, ctx.Err())
		case m = <-chunks:
		case <-time.After(apiTimeout):
			return snapshot{}, fmt.Errorf("snapshot %s: no data from the server for %s", stream, apiTimeout)
		}
		if len(m.Data) == 0 {
			// The end: a status header says whether it is complete.
			if status := m.Header.Get("Status"); status != "" && status != "204" {
				return snapshot{}, fmt.Errorf("snapshot %s failed: %s %s", stream, status, strings.TrimSpace(m.Header.Get("Description")))
			}
			return snap, nil
		}
		if _, err := w.Write(m.Data); err != nil {
			return snapshot{}, fmt.Errorf("snapshot %s: write: %w", stream, err)
		}
		if m.Reply != "" {
			if err := nc.Publish(m.Reply, nil); err != nil {
				return snapshot{}, fmt.Errorf("snapshot %s: ack: %w", stream, err)
			}
		}
	}
}

// restoreStream sends a stream's snapshot from r to the server, which
// creates the stream as the snapshot holds it.
func restoreStream(ctx context.Context, nc *nats.Conn, s Stream, r io.Reader) (*server.StreamInfo, error) {
	req, err := json.Marshal(struct {
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}{s.Config, s.State})
	if err != nil {
		return nil, err
	}
	call := func(subject string, data []byte) ([]byte, error) {
		rctx, cancel := context.WithTimeout(ctx, apiTimeout)
		defer cancel()
		m, err := nc.RequestWithContext(rctx, subject, data)
		if err != nil {
			return nil, err
		}
		return m.Data, nil
	}
	b, err := call(fmt.Sprintf(server.JSApiStreamRestoreT, s.Name), req)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", s.Name, err)
	}
	var start server.JSApiStreamRestoreResponse
	if err := json.Unmarshal(b, &start); err != nil {
		return nil, fmt.Errorf("restore %s: answer: %w", s.Name, err)
	}
	if start.Error != nil {
		return nil, fmt.Errorf("restore %s: %s (code %d)", s.Name, start.Error.Description, start.Error.ErrCode)
	}
	buf := make([]byte, 128<<10)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			b, err := call(start.DeliverSubject, buf[:n])
			if err != nil {
				return nil, fmt.Errorf("restore %s: send: %w", s.Name, err)
			}
			if len(b) > 0 {
				var resp server.JSApiStreamCreateResponse
				if json.Unmarshal(b, &resp) == nil && resp.Error != nil {
					return nil, fmt.Errorf("restore %s: %s (code %d)", s.Name, resp.Error.Description, resp.Error.ErrCode)
				}
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("restore %s: read snapshot: %w", s.Name, rerr)
		}
	}
	b, err = call(start.DeliverSubject, nil) // the end
	if err != nil {
		return nil, fmt.Errorf("restore %s: finish: %w", s.Name, err)
	}
	var done server.JSApiStreamCreateResponse
	if err := json.Unmarshal(b, &done); err != nil {
		return nil, fmt.Errorf("restore %s: answer: %w", s.Name, err)
	}
	if done.Error != nil {
		return nil, fmt.Errorf("restore %s: %s (code %d)", s.Name, done.Error.Description, done.Error.ErrCode)
	}
	if done.StreamInfo == nil {
		return nil, fmt.Errorf("restore %s: the server created no stream", s.Name)
	}
	return done.StreamInfo, nil
}
