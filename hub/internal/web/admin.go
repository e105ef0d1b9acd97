package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jobtech-dev/datahub/connector-kit/wire"
	"github.com/jobtech-dev/datahub/hub/internal/access"
	"github.com/jobtech-dev/datahub/hub/internal/accessreq"
	"github.com/jobtech-dev/datahub/hub/internal/actors"
	"github.com/jobtech-dev/datahub/hub/internal/audit"
	"github.com/jobtech-dev/datahub/hub/internal/policy"
	"github.com/jobtech-dev/datahub/hub/internal/redrive"
	"github.com/jobtech-dev/datahub/hub/internal/registry"
	"github.com/jobtech-dev/datahub/hub/internal/store"
)

// adminSession is the admin's session, or nil after sending the browser to
// sign in.
func (w *Web) adminSession(rw http.ResponseWriter, r *http.Request) *session {
	ss := w.sessions.get(r, kindAdmin)
	if ss == nil {
		http.Redirect(rw, r, "/admin/login", http.StatusSeeOther)
	}
	return ss
}

// adminPost is an admin's form post with its CSRF token checked.
func (w *Web) adminPost(rw http.ResponseWriter, r *http.Request) *session {
	ss := w.adminSession(rw, r)
	if ss == nil {
		return nil
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 64<<10)
	if !checkCSRF(r, ss) {
		w.fail(rw, r, http.StatusForbidden, "The form is stale: reload the page and try again.")
		return nil
	}
	return ss
}

func (w *Web) adminLoginPage(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, http.StatusOK, "adminlogin", page{Title: "Admin sign-in", Section: "admin", CSRF: preCSRF(rw, r)})
}

func (w *Web) adminLogin(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if !w.signins.allow(r) {
		w.render(rw, r, http.StatusTooManyRequests, "adminlogin", page{Title: "Admin sign-in", Section: "admin", CSRF: preCSRF(rw, r),
			Error: "Too many sign-in attempts from your address: wait a minute."})
		return
	}
	if !checkPreCSRF(r) {
		w.render(rw, r, http.StatusForbidden, "adminlogin", page{Title: "Admin sign-in", Section: "admin", CSRF: preCSRF(rw, r),
			Error: "The form is stale: try again."})
		return
	}
	if !w.Tokens.Valid(strings.TrimSpace(r.PostFormValue("token"))) {
		w.log.Warn("admin sign-in refused", "remote", r.RemoteAddr)
		w.render(rw, r, http.StatusUnauthorized, "adminlogin", page{Title: "Admin sign-in", Section: "admin", CSRF: preCSRF(rw, r),
			Error: "That is not the admin token (it is in the hub's data dir, admin.token)."})
		return
	}
	w.sessions.start(rw, r, kindAdmin, "")
	w.log.Info("admin signed in on the web", "remote", r.RemoteAddr)
	http.Redirect(rw, r, "/admin", http.StatusSeeOther)
}

// adminHomeView is the admin overview.
type adminHomeView struct {
	Pending  int
	Actors   int
	Conns    int
	Datasets []datasetCard
	Policies int
	Layers   map[string][]string
}

func (w *Web) adminHome(rw http.ResponseWriter, r *http.Request) {
	ss := w.adminSession(rw, r)
	if ss == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	var v adminHomeView
	pend, _ := w.Requests.List(ctx, "", accessreq.StatePending)
	v.Pending = len(pend)
	v.Actors = len(w.Access.Actors.List())
	for _, n := range w.Connected() {
		v.Conns += n
	}
	for _, d := range w.Registry.List() {
		c := w.card(ctx, d)
		c.Schema = w.schemaOf(d)
		v.Datasets = append(v.Datasets, c)
	}
	set := w.Access.Policies()
	v.Policies, v.Layers = set.Base().Len(), set.Layers()
	w.render(rw, r, http.StatusOK, "admin", page{Title: "Admin", Section: "admin", Data: v})
}

func (w *Web) adminRequests(rw http.ResponseWriter, r *http.Request) {
	if w.adminSession(rw, r) == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	all, err := w.Requests.List(ctx, "", "")
	if err != nil {
		w.fail(rw, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	w.render(rw, r, http.StatusOK, "adminrequests", page{Title: "Access requests", Section: "admin", Data: all})
}

func (w *Web) adminDecide(rw http.ResponseWriter, r *http.Request, approve bool) {
	if w.adminPost(rw, r) == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	var err error
	done := "approved"
	if approve {
		_, err = w.Requests.Approve(ctx, r.PathValue("id"), audit.ActorAdmin, r.PostFormValue("reason"))
	} else {
		done = "declined"
		_, err = w.Requests.Decline(ctx, r.PathValue("id"), audit.ActorAdmin, r.PostFormValue("reason"))
	}
	switch {
	case errors.Is(err, accessreq.ErrNotFound):
		w.notFound(rw, r, err.Error())
	case errors.Is(err, accessreq.ErrInvalid), errors.Is(err, accessreq.ErrDecided):
		w.fail(rw, r, http.StatusUnprocessableEntity, err.Error())
	case err != nil:
		w.fail(rw, r, http.StatusServiceUnavailable, err.Error())
	default:
		http.Redirect(rw, r, "/admin/requests?done="+done, http.StatusSeeOther)
	}
}

func (w *Web) adminApprove(rw http.ResponseWriter, r *http.Request) { w.adminDecide(rw, r, true) }
func (w *Web) adminDecline(rw http.ResponseWriter, r *http.Request) { w.adminDecide(rw, r, false) }

// actorRow is an actor on the admin page.
type actorRow struct {
	actors.Actor
	Connections int
}

func (w *Web) adminActors(rw http.ResponseWriter, r *http.Request) {
	if w.adminSession(rw, r) == nil {
		return
	}
	w.renderActors(rw, r, http.StatusOK, "")
}

func (w *Web) renderActors(rw http.ResponseWriter, r *http.Request, status int, errText string) {
	conns := w.Connected()
	var rows []actorRow
	for _, a := range w.Access.Actors.List() {
		rows = append(rows, actorRow{Actor: a, Connections: conns[a.Name]})
	}
	w.render(rw, r, status, "adminactors", page{Title: "Actors", Section: "admin", Error: errText, Data: rows})
}

func (w *Web) adminCreateActor(rw http.ResponseWriter, r *http.Request) {
	if w.adminPost(rw, r) == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	_, err := w.Access.CreateActor(ctx, strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("public_key")), audit.ActorAdmin)
	if err != nil {
		w.renderActors(rw, r, http.StatusUnprocessableEntity, "The actor was not created: "+err.Error())
		return
	}
	http.Redirect(rw, r, "/admin/actors?done=created", http.StatusSeeOther)
}

func (w *Web) adminRevokeActor(rw http.ResponseWriter, r *http.Request) {
	if w.adminPost(rw, r) == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	if _, err := w.Access.RevokeActor(ctx, r.PathValue("actor"), audit.ActorAdmin); err != nil {
		w.renderActors(rw, r, http.StatusUnprocessableEntity, "The actor was not revoked: "+err.Error())
		return
	}
	http.Redirect(rw, r, "/admin/actors?done=revoked", http.StatusSeeOther)
}

// policiesView is the policies page.
type policiesView struct {
	Origin   access.Origin
	Digest   string
	Files    []policyFile
	Layers   map[string][]string
	Explain  []policy.ExplainLine
	Check    *policy.Decision
	Q        map[string]string
	Actions  []string
	Datasets []*registry.Dataset
	History  []audit.Entry
}

type policyFile struct {
	Name    string
	Content string
}

func (w *Web) adminPolicies(rw http.ResponseWriter, r *http.Request) {
	if w.adminSession(rw, r) == nil {
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	set := w.Access.Policies()
	v := policiesView{Origin: w.Access.PolicyOrigin(), Digest: set.Digest(), Layers: set.Layers(), Actions: policy.Actions(), Datasets: w.Registry.List()}
	files := set.Files()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v.Files = append(v.Files, policyFile{Name: n, Content: string(files[n])})
	}
	q := r.URL.Query()
	v.Q = map[string]string{"actor": q.Get("actor"), "action": q.Get("action"), "dataset": q.Get("dataset")}
	if a := v.Q["actor"]; wire.ValidName(a) {
		var ds []string
		for _, d := range v.Datasets {
			if v.Q["dataset"] == "" || d.Name == v.Q["dataset"] {
				ds = append(ds, d.Name)
			}
		}
		v.Explain = set.Explain(a, ds, time.Now())
		if v.Q["action"] != "" && v.Q["dataset"] != "" {
			d := set.Decide(policy.Request{Actor: a, Action: v.Q["action"], Dataset: v.Q["dataset"], Time: time.Now()})
			v.Check = &d
		}
	}
	v.History = w.auditKinds(ctx, 2000, audit.KindPolicyApply, audit.KindPolicyOverride, access.KindPolicyLayer)
	w.render(rw, r, http.StatusOK, "adminpolicies", page{Title: "Policies", Section: "admin", Data: v})
}

// auditKinds returns the entries of the given kinds among the last n,
// newest first.
func (w *Web) auditKinds(ctx context.Context, n int, kinds ...string) []audit.Entry {
	var out []audit.Entry
	_ = w.Audit.Tail(ctx, n, false, func(e audit.Entry) error {
		if len(kinds) == 0 || slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
		return nil
	})
	slices.Reverse(out)
	return out
}

// deadLetterRow is a dead letter on the admin page.
type deadLetterRow struct {
	wire.DeadLetter
	Redriven *redrive.Result
	Data     string
}

type deadLettersView struct {
	Dataset  string
	Datasets []*registry.Dataset
	Rows     []deadLetterRow
}

func (w *Web) adminDeadLetters(rw http.ResponseWriter, r *http.Request) {
	if w.adminSession(rw, r) == nil {
		return
	}
	w.renderDeadLetters(rw, r, http.StatusOK, "")
}

func (w *Web) renderDeadLetters(rw http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx, cancel := requestCtx(r)
	defer cancel()
	v := deadLettersView{Dataset: r.URL.Query().Get("dataset"), Datasets: w.Registry.List()}
	if v.Dataset == "" {
		v.Dataset = r.PathValue("dataset")
	}
	if _, ok := w.Registry.Get(v.Dataset); ok {
		var after uint64
		if info, err := w.JetStream.Stream(ctx, wire.DeadLetterStream); err == nil {
			if st := info.CachedInfo().State; st.LastSeq > 500 {
				after = st.LastSeq - 500 // the latest 500 at most
			}
		}
		_ = store.ReadDeadLetters(ctx, w.JetStream, v.Dataset, after, store.ReadOptions{}, func(dl wire.DeadLetter) error {
			row := deadLetterRow{DeadLetter: dl, Data: string(dl.Data)}
			if len(row.Data) > 4096 {
				row.Data = row.Data[:4096] + "…"
			}
			if res, ok := w.Redrive.Done(ctx, dl.Seq); ok {
				row.Redriven = &res
			}
			v.Rows = append(v.Rows, row)
			return nil
		})
		slices.Reverse(v.Rows)
	}
	w.render(rw, r, status, "admindeadletters", page{Title: "Dead letters", Section: "admin", Error: errText, Data: v})
}

func (w *Web) adminRedrive(rw http.ResponseWriter, r *http.Request) {
	if w.adminPost(rw, r) == nil {
		return
	}
	dataset := r.PathValue("dataset")
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if _, ok := w.Registry.Get(dataset); !ok || err != nil {
		w.notFound(rw, r, "No such dead letter.")
		return
	}
	ctx, cancel := requestCtx(r)
	defer cancel()
	res, err := w.Redrive.Redrive(ctx, dataset, seq, audit.ActorAdmin)
	switch {
	case err != nil:
		w.renderDeadLetters(rw, r, http.StatusUnprocessableEntity, "Not re-driven: "+err.Error())
	case !res.Stored():
		msg := "Still refused by the schema in force: " + res.Reply.Error
		w.renderDeadLetters(rw, r, http.StatusUnprocessableEntity, msg)
	default:
		http.Redirect(rw, r, "/admin/deadletters?dataset="+dataset+"&done=redriven", http.StatusSeeOther)
	}
}

// auditView is the audit page: the latest entries and the chain's state.
type auditView struct {
	Report   audit.Report
	Err      string
	Anchored bool
	Entries  []audit.Entry
}

func (w *Web) adminAudit(rw http.ResponseWriter, r *http.Request) {
	if w.adminSession(rw, r) == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var v auditView
	var opts []audit.VerifyOption
	if w.Anchors != nil {
		if a, ok := w.Anchors.Last(); ok {
			opts = append(opts, audit.Against(a))
			v.Anchored = true
		}
	}
	rep, err := w.Audit.Verify(ctx, opts...)
	if err != nil {
		v.Err = err.Error()
	}
	v.Report = rep
	v.Entries = w.auditKinds(ctx, 200)
	w.render(rw, r, http.StatusOK, "adminaudit", page{Title: "Audit log", Section: "admin", Data: v})
}
