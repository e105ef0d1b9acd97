// Package accessreq keeps actors' requests for access to datasets, and turns
// approved ones into sharing policies. An actor, signed in on the hub's web
// pages, asks for a right (subscribe, publish or read-schema) on a dataset
// with a purpose and an end date; an admin approves it — which puts a
// time-boxed allow for exactly that actor, dataset and action in force at
// once, in the policy layer "access-requests" beside the applied policy files
// (applying the policies folder keeps it; `hub policy explain` names the
// layer) — or declines it with a reason. Both sides see the request's state;
// every step is audited. Requests live in the replicated KV bucket
// hub_access_requests.
//
// The grant ends at the end of the end date (UTC): the policy's time window
// closes then, the auth callout's credentials expire with it, and the expiry
// is audited like any time-boxed grant's.
package accessreq
