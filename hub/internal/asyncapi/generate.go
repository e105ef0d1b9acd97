package asyncapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
)

// Hub names the hub a document describes.
type Hub struct {
	// Name is the hub's name (config name:), the document's title and its
	// server's key.
	Name string
	// Version is the hub's build version, the document's info.version.
	Version string
	// NATSURL is where actors connect: nats://host:port or tls://host:port.
	NATSURL string
}

// Generate writes the AsyncAPI document of datasets on hub. With rights nil
// it describes every dataset and every operation some actor may be
// granted, the actor a parameter of each address. With rights, it is the
// document of rights.Actor: its own subjects, and only the operations its
// rights allow (publish: send on the ingest channel; subscribe: receive on
// the deliver channel), and only the channels those use. A retired dataset
// is received from, never sent to.
func Generate(hub Hub, datasets []*registry.Dataset, rights *policy.Rights) (*Document, error) {
	doc := &Document{
		AsyncAPI: Version,
		ID:       "urn:jobtech-datahub:" + hub.Name,
		Info: Info{
			Title:   fmt.Sprintf("JobTech Data Hub %q", hub.Name),
			Version: cmp.Or(hub.Version, "0.0.0"),
			Description: "The datasets of this hub and the subjects their records travel on. A record is sent as " +
				"a JSON document valid against the dataset's latest schema version (or the version named in " +
				"its Hub-Schema-Version header); the hub validates it, stamps its publisher and stores it.",
		},
		DefaultContentType: "application/json",
		Channels:           map[string]Channel{},
		Operations:         map[string]Operation{},
		Components:         Components{Messages: map[string]Message{}},
	}
	server, err := serverOf(hub.NATSURL)
	if err != nil {
		return nil, err
	}
	doc.Servers = map[string]Server{serverKey(hub.Name): server}
	actor := "{actor}"
	if rights != nil {
		actor = rights.Actor
		doc.Info.Actor = rights.Actor
		doc.Info.Description += fmt.Sprintf(" This document is actor %s's: its subjects, and the operations its rights allow now.", rights.Actor)
	}
	for _, d := range datasets {
		msg, err := message(d)
		if err != nil {
			return nil, err
		}
		may := func(action string) bool {
			if action == policy.ActionPublish && d.Retired != nil {
				return false
			}
			return rights == nil || rights.Allowed(d.Name, action)
		}
		msgRef := func(ch string) []Ref { return []Ref{{Ref: "#/channels/" + ch + "/messages/" + d.Name}} }
		used := false
		if may(policy.ActionPublish) {
			ch := d.Name + ".ingest"
			doc.Channels[ch] = ingestChannel(d, actor, rights == nil)
			doc.Operations[d.Name+".publish"] = Operation{
				Action:  "send",
				Channel: Ref{Ref: "#/channels/" + ch},
				Title:   "Publish " + d.Name,
				Summary: "Send a record of " + d.Name + " (policy action publish).",
				Description: "Publish with a request to get the hub's answer (stored, duplicate, or the violations). " +
					"Set Hub-Record-Id to make a retry safe, Hub-Schema-Version to pin a schema version.",
				Messages: msgRef(ch),
			}
			used = true
		}
		if may(policy.ActionSubscribe) {
			ch := d.Name + ".deliver"
			doc.Channels[ch] = deliverChannel(d, actor, rights == nil)
			doc.Operations[d.Name+".subscribe"] = Operation{
				Action:  "receive",
				Channel: Ref{Ref: "#/channels/" + ch},
				Title:   "Receive " + d.Name,
				Summary: "Receive the stored records of " + d.Name + " (policy action subscribe).",
				Description: fmt.Sprintf("First request %s with {\"durable\":\"name\",\"start\":\"all|new|snapshot|after|since\"}: "+
					"the hub creates a consumer and answers its deliver_subject. Subscribe to it, ack each record and answer "+
					"flow-control requests.", wire.ServiceSubject(wire.SubscribePrefix, d.Name, actor)),
				Messages: msgRef(ch),
			}
			used = true
		}
		if used {
			doc.Components.Messages[d.Name] = msg
		}
	}
	return doc, nil
}

func ingestChannel(d *registry.Dataset, actor string, param bool) Channel {
	ch := Channel{
		Address:     wire.IngestSubject(d.Name, actor),
		Title:       d.Title + " (publish)",
		Description: fmt.Sprintf("Records of %s sent to the hub. The last token is the publisher's name: the server lets an actor publish only under its own, so the hub records it as the publisher.", d.Name),
		Messages:    map[string]Ref{d.Name: {Ref: "#/components/messages/" + d.Name}},
	}
	if param {
		ch.Parameters = map[string]Parameter{"actor": {Description: "The publishing actor's name."}}
	}
	return ch
}

func deliverChannel(d *registry.Dataset, actor string, param bool) Channel {
	ch := Channel{
		Address:     wire.DeliverSubject(actor, d.Name, "{consumer}"),
		Title:       d.Title + " (receive)",
		Description: fmt.Sprintf("Stored records of %s as the hub delivers them to a subscriber, with the headers it stamped.", d.Name),
		Messages:    map[string]Ref{d.Name: {Ref: "#/components/messages/" + d.Name}},
		Parameters:  map[string]Parameter{"consumer": {Description: "The subscription's consumer, named in the hub's answer to the subscribe request."}},
	}
	if param {
		ch.Parameters["actor"] = Parameter{Description: "The receiving actor's name."}
	}
	return ch
}

// headersSchema describes the NATS headers of a record: the ones a
// publisher may set, and the ones the hub stamps on a stored record.
var headersSchema = json.RawMessage(`{
  "type": "object",
  "properties": {
    "` + wire.RequestRecordID + `": {"type": "string", "description": "The record id: set by the publisher (a retry is then stored once) or by the hub."},
    "` + wire.RequestSchemaVersion + `": {"type": "string", "pattern": "^[0-9]+$", "description": "Sent: pins the schema version the record is validated against. Received: the version it was validated against."},
    "` + wire.HeaderPublisher + `": {"type": "string", "description": "Received: the publishing actor, stamped by the hub."},
    "` + wire.HeaderOrigin + `": {"type": "string", "description": "Received: the hub the record was first stored on."},
    "` + wire.HeaderKey + `": {"type": "string", "description": "Received: the record key."},
    "` + wire.HeaderTombstone + `": {"type": "string", "description": "Received: true when the record ends its key."}
  }
}`)

func message(d *registry.Dataset) (Message, error) {
	if len(d.SchemaDoc) == 0 || !json.Valid(d.SchemaDoc) {
		return Message{}, fmt.Errorf("dataset %s: schema version %d is not a JSON document", d.Name, d.SchemaVersion)
	}
	m := Message{
		Name:          d.Name,
		Title:         d.Title,
		Summary:       fmt.Sprintf("A record of %s, valid against schema version %d.", d.Name, d.SchemaVersion),
		Description:   d.Description,
		ContentType:   "application/json",
		Headers:       &MultiSchema{SchemaFormat: MediaType, Schema: headersSchema},
		Payload:       MultiSchema{SchemaFormat: schemaFormat(d.SchemaDoc), Schema: d.SchemaDoc},
		SchemaVersion: d.SchemaVersion,
	}
	if d.Retired != nil {
		m.Description = strings.TrimSpace(m.Description + fmt.Sprintf(" Retired since %s: read only.", d.Retired.At.UTC().Format("2006-01-02")))
	}
	return m, nil
}

// schemaFormat names the JSON Schema draft of doc by its $schema; the hub
// reads a schema without one as draft 2020-12.
func schemaFormat(doc json.RawMessage) string {
	var head struct {
		Schema string `json:"$schema"`
	}
	_ = json.Unmarshal(doc, &head)
	draft := "draft-2020-12"
	switch {
	case strings.Contains(head.Schema, "draft/2019-09"):
		draft = "draft-2019-09"
	case strings.Contains(head.Schema, "draft-07"):
		draft = "draft-07"
	case strings.Contains(head.Schema, "draft-06"):
		draft = "draft-06"
	case strings.Contains(head.Schema, "draft-04"):
		draft = "draft-04"
	}
	return "application/schema+json;version=" + draft
}

// serverOf turns the hub's NATS URL into a server object.
func serverOf(natsURL string) (Server, error) {
	u, err := url.Parse(natsURL)
	if err != nil || u.Host == "" {
		return Server{}, fmt.Errorf("NATS URL %q: want nats://host:port or tls://host:port", natsURL)
	}
	s := Server{Host: u.Host, Protocol: "nats",
		Description: "The hub's NATS server. Connect with the actor's nkey (the credentials file from hub actor create) " +
			"and the inbox prefix _INBOX_<actor>; the hub grants the subjects of the actor's rights."}
	if u.Scheme == "tls" {
		s.Description += " TLS is required (tls://" + u.Host + ")."
	}
	return s, nil
}

// serverKey makes a hub name a key the components' pattern accepts.
func serverKey(name string) string {
	if name == "" {
		return "hub"
	}
	return name
}
