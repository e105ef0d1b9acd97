// Package jobstore is the Jobstore: descriptions of the digital services
// actors build on the hub's datasets — matching, recruitment, education and
// gig services — so that they can be found. A description names its actor,
// the service, a category, its address, the datasets it uses and a contact;
// it is read strictly from YAML (`hub service publish -f service.yaml`) or
// JSON (the API, the web form), checked whole, stored in the replicated KV
// bucket hub_services and audited. The public catalog lists and searches
// them, and each dataset's page shows the services built on it.
//
// Descriptions are text written by anyone: they are stored as given and
// only ever rendered escaped; a service's address must be an absolute
// http(s) URL, so it can never be a script.
package jobstore
